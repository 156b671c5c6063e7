"""One error shape, and one function that maps every exception to a status code."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..engine.pipeline import Cancelled
from ..errors import (
    ClientDisconnected,
    Conflict,
    DeadlineExceeded,
    EngineError,
    InvalidInput,
    InvalidOutput,
    NotFound,
    OutOfMemory,
    PayloadTooLarge,
    QueueFull,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from .protocol import ErrorDetail, ErrorResponse

log = logging.getLogger(__name__)


def error_response(
    status: int,
    type_: str,
    message: str,
    field: str | None = None,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    detail = ErrorDetail(type=type_, message=message, field=field, param=field, code=type_)
    body = ErrorResponse(error=detail, detail=message)
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


def _validation_field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def map_exception(error: BaseException) -> JSONResponse:
    """The single mapping from exceptions to HTTP responses."""
    if isinstance(error, RequestValidationError):
        problems = error.errors()
        if problems and problems[0].get("type") == "json_invalid":
            return error_response(422, "invalid_request", "body: not valid JSON", "body")
        fields = [_validation_field(tuple(p.get("loc", ()))) for p in problems]
        message = "; ".join(f"{f}: {p.get('msg', 'invalid value')}" for f, p in zip(fields, problems))
        return error_response(422, "invalid_request", message, fields[0] if fields else "body")
    if isinstance(error, Unauthorized):
        return error_response(401, "unauthorized", error.message, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(error, Conflict):
        return error_response(409, "conflict", error.message)
    if isinstance(error, NotFound):
        return error_response(404, "not_found", error.message, error.field)
    if isinstance(error, PayloadTooLarge):
        return error_response(413, "payload_too_large", error.message, error.field)
    if isinstance(error, InvalidInput):
        return error_response(422, "invalid_request", error.message, error.field)
    if isinstance(error, OutOfMemory):
        return error_response(503, "out_of_memory", error.message, retry_after=error.retry_after)
    if isinstance(error, RateLimited):
        return error_response(429, "rate_limited", error.message, retry_after=error.retry_after)
    if isinstance(error, QueueFull):
        return error_response(503, "overloaded", error.message, retry_after=error.retry_after)
    if isinstance(error, Unavailable):
        return error_response(503, "unavailable", error.message, retry_after=error.retry_after)
    if isinstance(error, DeadlineExceeded):
        return error_response(504, "deadline_exceeded", error.message)
    if isinstance(error, ClientDisconnected):
        return error_response(499, "client_disconnected", error.message)
    if isinstance(error, Cancelled):
        return error_response(499, "cancelled", error.message)
    if isinstance(error, StarletteHTTPException) and error.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, broken form data): invalid input.
        return error_response(422, "invalid_request", f"body: {error.detail}", "body")
    if isinstance(error, StarletteHTTPException):
        return error_response(error.status_code, "http_error", str(error.detail))
    if isinstance(error, InvalidOutput):
        log.error("invalid output: %s", error.message)
        return error_response(500, "invalid_output", error.message)
    if isinstance(error, EngineError):
        log.error("engine error: %s", error.message)
        return error_response(500, "internal_error", error.message)
    log.error("unexpected error", exc_info=error)
    return error_response(500, "internal_error", "internal error; the engine log has the details")


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, error: Exception) -> JSONResponse:
        return map_exception(error)

    for kind in (RequestValidationError, StarletteHTTPException, EngineError, Exception):
        app.add_exception_handler(kind, handle)
