"""NGSI-LD errors: the specification's error type URIs and status codes, as ProblemDetails.

Every NGSI-LD error response is `application/json` with a body `{"type", "title", "detail"}` whose
`type` is one of the URIs under https://uri.etsi.org/ngsi-ld/errors/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from citymeter.errors import (
    CityMeterError,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)

ERRORS_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiError(Exception):
    """An error with an NGSI-LD error type. `status` is the HTTP status the spec ties to it."""

    name: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_override = status

    @property
    def http_status(self) -> int:
        return self.status_override or self.status

    @property
    def type_uri(self) -> str:
        return ERRORS_BASE + self.name

    def problem(self) -> dict[str, Any]:
        return {
            "type": self.type_uri,
            "title": self.title,
            "status": self.http_status,
            "detail": self.detail,
        }


class InvalidRequest(NgsiError):
    """The request as such is malformed: syntax, headers, media types, bad parameters."""

    name = "InvalidRequest"
    status = 400
    title = "Invalid request"


class BadRequestData(NgsiError):
    """Well-formed request whose data is not acceptable (bad entity, bad q, bad geometry)."""

    name = "BadRequestData"
    status = 400
    title = "Bad request data"


class AlreadyExists(NgsiError):
    name = "AlreadyExists"
    status = 409
    title = "Already exists"


class OperationNotSupported(NgsiError):
    name = "OperationNotSupported"
    status = 422
    title = "Operation not supported"


class ResourceNotFound(NgsiError):
    name = "ResourceNotFound"
    status = 404
    title = "Resource not found"


class InternalError(NgsiError):
    name = "InternalError"
    status = 500
    title = "Internal error"


class TooComplexQuery(NgsiError):
    name = "TooComplexQuery"
    status = 403
    title = "Too complex query"


class TooManyResults(NgsiError):
    name = "TooManyResults"
    status = 403
    title = "Too many results"


class LdContextNotAvailable(NgsiError):
    """A remote @context was named; CityMeter never fetches remote contexts (closed networks)."""

    name = "LdContextNotAvailable"
    status = 503
    title = "LD context not available"


class UnsupportedMediaType(InvalidRequest):
    status = 415
    title = "Unsupported media type"


class NotAcceptable(InvalidRequest):
    status = 406
    title = "Not acceptable"


class Unauthenticated(NgsiError):
    """The spec registers no type for authentication; the status says it all."""

    name = "Unauthenticated"
    status = 401
    title = "Not authenticated"

    @property
    def type_uri(self) -> str:
        return "about:blank"


class Forbidden(NgsiError):
    name = "Forbidden"
    status = 403
    title = "Permission denied"

    @property
    def type_uri(self) -> str:
        return "about:blank"


def from_citymeter(exc: CityMeterError) -> NgsiError:
    """A CityMeter service error seen through NGSI-LD eyes."""
    if isinstance(exc, NotFound):
        return ResourceNotFound(exc.message)
    if isinstance(exc, Conflict):
        return AlreadyExists(exc.message)
    if isinstance(exc, InvalidInput):
        return BadRequestData(_with_details(exc))
    if isinstance(exc, NotAuthenticated):
        return Unauthenticated(exc.message)
    if isinstance(exc, PermissionDenied):
        return Forbidden(exc.message)
    if isinstance(exc, PayloadTooLarge):
        return InvalidRequest(exc.message, status=413)
    return BadRequestData(exc.message, status=exc.status)


def _with_details(exc: CityMeterError) -> str:
    errors = exc.details.get("errors")
    if not errors or not isinstance(errors, list):
        return exc.message
    listed = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return f"{exc.message} ({listed[:500]})"
