"""The API's error answers, always as JSON `{"error": {"code", "message"}}`, for the errors of core/errors.py and
those FastAPI and Starlette raise themselves (unknown route, invalid request, anything unexpected).

Under /v1 (the OpenAI-compatible routes) the body is OpenAI's shape, a superset of ours: `{"error": {"message",
"type", "param", "code"}}`, with `type` from the status (OPENAI_ERROR_TYPES) and `param` naming the field at fault.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import AppError
from core.metrics import UPLOADS_REFUSED

log = logging.getLogger(__name__)


OPENAI_PREFIX = "/v1/"
"""Routes under this prefix answer errors in OpenAI's shape."""

OPENAI_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
"""OpenAI's error `type` by status; any other 4xx is `invalid_request_error`, a 5xx `server_error`."""

UPLOAD_PATHS = frozenset({"/api/audio", "/v1/audio/transcriptions", "/v1/audio/translations"})
"""Refusals on these count in transcribe_uploads_refused_total."""


def error_response(
    status_code: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    path: str = "",
    param: str | None = None,
) -> JSONResponse:
    """The error body for a route at `path`: ours, or OpenAI's under /v1."""
    if not path.startswith(OPENAI_PREFIX):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code, headers=headers)
    kind = OPENAI_ERROR_TYPES.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    body = {"message": message, "type": kind, "param": param, "code": code}
    return JSONResponse({"error": body}, status_code, headers=headers)


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if request.url.path in UPLOAD_PATHS:
        UPLOADS_REFUSED.labels(exc.code).inc()
    return error_response(exc.status_code, exc.code, exc.message, exc.headers, path=request.url.path, param=exc.param)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}), path=request.url.path)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    problems = "; ".join(_describe(error) for error in errors)
    return error_response(
        400,
        "invalid_request",
        problems or "The request is not valid.",
        path=request.url.path,
        param=_field(errors[0]) if errors else None,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side.", path=request.url.path)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def _field(error: Any) -> str | None:
    """The field a validation error is about (`response_format`), if it names one."""
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return where[0] if where else None


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
