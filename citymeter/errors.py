"""Typed errors raised by services; the web layer and the CLI turn them into clear messages."""

from __future__ import annotations

from typing import Any


class CityMeterError(Exception):
    """Base class. `title` is short and stable; the message says what to do."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(CityMeterError):
    status = 422
    title = "Invalid input"


class NotFound(CityMeterError):
    status = 404
    title = "Not found"


class Conflict(CityMeterError):
    status = 409
    title = "Conflict"


class NotAuthenticated(CityMeterError):
    status = 401
    title = "Not authenticated"


class PermissionDenied(CityMeterError):
    status = 403
    title = "Permission denied"


class PayloadTooLarge(CityMeterError):
    status = 413
    title = "Payload too large"


class ConnectorError(CityMeterError):
    status = 502
    title = "Connector error"
