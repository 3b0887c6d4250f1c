"""One JSON error shape for every error: ``{"error": {"code", "message", "detail"}}``.

Maps service errors (``app.exceptions``), pipeline errors (``pipelines.exceptions``),
validation errors and Starlette's HTTP errors (404, 405, ...) onto it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.exceptions import AppError
from pipelines import exceptions as pe

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
               413: "payload_too_large", 415: "unsupported_media", 422: "invalid_input",
               429: "too_many_requests", 500: "internal_error", 503: "unavailable"}

# pipeline error -> (HTTP status, code)
_PIPELINE = [
    (pe.ModelNotInstalledError, 503, "model_not_installed"),
    (pe.HeadFileError, 503, "model_unusable"),  # a broken shipped file is the server's fault
    (pe.UnknownModelError, 422, "unknown_model"),
    (pe.OptionsError, 422, "invalid_options"),
    (pe.UnsupportedLanguageError, 422, "unsupported_language"),
    (pe.MediaError, 415, "unsupported_media"),
    (pe.EmptyInputError, 422, "empty_input"),
    (pe.PipelineError, 422, "pipeline_error"),
]


class ErrorInfo(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorInfo


def error_response(status: int, code: str, message: str, detail: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "detail": jsonable_encoder(detail)}}
    return JSONResponse(body, status_code=status, headers=headers)


def pipeline_status(err: pe.PipelineError) -> tuple[int, str]:
    for cls, status, code in _PIPELINE:
        if isinstance(err, cls):
            return status, code
    return 422, "pipeline_error"


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status == 429:
        headers = {"Retry-After": "10"}
    return error_response(exc.status, exc.code, exc.message, exc.detail, headers)


async def _pipeline_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, pe.PipelineError)
    status, code = pipeline_status(exc)
    return error_response(status, code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_response(422, "validation_error", f"invalid request: {where}: {first['msg']}", errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such resource: {request.method} {request.url.path}"
    if exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error; the server log has the details.")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(pe.PipelineError, _pipeline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
