"""Errors of the service layer. Each carries the HTTP status and error code the API answers with.

Pipeline errors (``pipelines.exceptions``) are mapped to HTTP in ``app.api.errors``.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error the client caused or can act on: ``status``, a stable ``code``, a message, detail."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, detail: Any = None, *, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidInput(AppError):
    status, code = 422, "invalid_input"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class RequestTimeout(AppError):
    """The request body stopped arriving or took too long (``LESSONLENS_BODY_*TIMEOUT_S``)."""

    status, code = 408, "request_timeout"


class UnsupportedMedia(AppError):
    status, code = 415, "unsupported_media"


class TooManyJobs(AppError):
    status, code = 429, "too_many_jobs"


class UrlNotAllowed(AppError):
    """A webhook or source URL that is malformed or points at a refused address."""

    status, code = 422, "url_not_allowed"


class SourceError(AppError):
    """A URL source that could not be fetched (raised in the worker; fails the job)."""

    status, code = 422, "source_unavailable"


class ServiceUnavailable(AppError):
    status, code = 503, "unavailable"
