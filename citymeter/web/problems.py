"""Errors as RFC 9457 problem+json; never a traceback to the client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from citymeter.errors import CityMeterError

log = logging.getLogger("citymeter.web")

PROBLEM_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def unexpected_error() -> JSONResponse:
    """The answer to an error nobody foresaw (it is logged by the caller): no traceback."""
    return problem(
        500, "Internal error", "Something went wrong on the server; the error was logged."
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(CityMeterError)
    async def _service_error(request: Request, exc: CityMeterError) -> JSONResponse:
        extra = {"errors": exc.details["errors"]} if "errors" in exc.details else {}
        return problem(exc.status, exc.title, exc.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "where": ".".join(str(part) for part in err.get("loc", ())),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", summary, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return unexpected_error()
