"""One JSON error shape for every error the hub answers.

Routes raise `HubError` subclasses or call `flask_smorest.abort`; routing
errors, marshmallow validation, JWT failures, rate limits and unhandled
exceptions all end up here and leave as the error envelope of docs/API.md.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import marshmallow as ma
from flask import Flask, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.web.context import MetaSchema, meta

log = logging.getLogger(__name__)

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",  # 414, 417, 431, 501: gunicorn's own refusals (hub/web/httpserver.py)
    415: "UNSUPPORTED_MEDIA_TYPE",
    417: "EXPECTATION_FAILED",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}

MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed on this path.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    414: "The request line (method, path and query string) is too long.",
    415: "Unsupported media type.",
    417: "The Expect header cannot be met.",
    422: "The request is not valid.",
    429: "Too many requests; slow down.",
    431: "The request headers are too many or too large.",
    500: "Something went wrong on our side.",
    501: "The transfer coding is not supported.",
    503: "A service the hub depends on is unavailable.",
}


class HubError(Exception):
    """A domain error with an HTTP status; raise it from services or routes."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or MESSAGES.get(self.status, "Error"))
        self.message = message or MESSAGES.get(self.status, "Error")
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(HubError):
    status, code = 400, "BAD_REQUEST"


class Unauthorized(HubError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(HubError):
    status, code = 403, "FORBIDDEN"


class NotFound(HubError):
    status, code = 404, "NOT_FOUND"


class Conflict(HubError):
    status, code = 409, "CONFLICT"


class UnsupportedMediaType(HubError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class ValidationFailed(HubError):
    status, code = 422, "VALIDATION_ERROR"


class QuotaExceeded(HubError):
    """Over the tenant's storage quota (TENANT_STORAGE_QUOTA_BYTES)."""

    status, code = 413, "QUOTA_EXCEEDED"


class RateLimited(HubError):
    status, code = 429, "RATE_LIMITED"


class ServiceUnavailable(HubError):
    status, code = 503, "SERVICE_UNAVAILABLE"


class ErrorEnvelopeSchema(ma.Schema):
    """The error envelope (documentation only)."""

    success = ma.fields.Boolean(metadata={"example": False})
    error = ma.fields.Boolean(metadata={"example": True})
    code = ma.fields.String(metadata={"example": "VALIDATION_ERROR"})
    message = ma.fields.String()
    details = ma.fields.Dict()
    meta = ma.fields.Nested(MetaSchema)


def error_response(status: int, message: str | None = None, details: dict | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None):
    """Build the error envelope response; the only place that does."""
    body = {
        "success": False,
        "error": True,
        "code": code or CODES.get(status, "ERROR" if status < 500 else "INTERNAL_ERROR"),
        "message": message or MESSAGES.get(status, "Error"),
        "details": details or {},
        "meta": meta(),
    }
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_exception_details(error: HTTPException) -> tuple[str | None, dict]:
    data = getattr(error, "data", None) or {}
    message = data.get("message")
    details: dict[str, Any] = {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        # webargs nests by location: {"json": {"field": ["msg"]}}.
        details["fields"] = errors
    if error.code == 405 and getattr(error, "valid_methods", None):
        details["allowed"] = sorted(error.valid_methods)
    return message, details


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if isinstance(error, InternalServerError) or status >= 500:
        original = getattr(error, "original_exception", None)
        if status == 500:
            log.error("unhandled error", exc_info=original or error)
            return error_response(500)
    message, details = _http_exception_details(error)
    headers = dict((getattr(error, "data", None) or {}).get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110 requires it
    if status == 400 and not message and "fields" in details:
        message = "The request body is not valid JSON."
    if status == 422 and not message:
        message = "Some fields are not valid; see details.fields."
    if status == 413 and not message:
        message, details = _too_large(details)
    if status == 429:
        retry_after = _retry_after()
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        details.setdefault("limit", str(getattr(error, "description", "")))
        message = MESSAGES[429]
    return error_response(status, message, details, headers=headers)


def _too_large(details: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """werkzeug's 413 (past MAX_CONTENT_LENGTH, or this request's own limit): say the limit."""
    from flask import request

    limit = request.max_content_length
    if limit is None:
        return "The request body is larger than the limit.", details
    return (f"The request body is larger than the limit of {format_bytes(limit)} ({limit} bytes).",
            {**details, "max_bytes": limit})


def format_bytes(size: int) -> str:
    """`10 MiB`, `512 KiB`, `100 bytes`: a limit as people read it."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _retry_after() -> int | None:
    from hub.extensions import limiter

    current = getattr(limiter, "current_limit", None)
    if current is None:
        return None
    return max(1, int(current.reset_at - time.time()) + 1)


def handle_hub_error(error: HubError):
    return error_response(error.status, error.message, error.details, error.code, error.headers)


def handle_unexpected(error: Exception):
    if is_database_unavailable(error):
        return handle_database_unavailable(error)
    if is_redis_unavailable(error):
        return handle_redis_unavailable(error)
    log.error("unhandled error", exc_info=error)
    return error_response(500)


def is_redis_unavailable(error: BaseException) -> bool:
    """True when Redis cannot be reached (refused, dropped, timed out). Paths that can do
    without it fall back themselves (rate limits, the token blocklist); this catches the
    rest, e.g. a request racing the rate limiter's switch to its in-memory fallback."""
    import redis

    return isinstance(error, redis.ConnectionError | redis.TimeoutError)


def handle_redis_unavailable(error: Exception):
    """Like a database outage: the client's cue to retry (503 + Retry-After), not a 500."""
    log.warning("redis unavailable: %s", type(error).__name__)
    return error_response(503, "A service the hub depends on is unavailable; retry shortly.",
                          headers={"Retry-After": OUTAGE_RETRY_AFTER})


OUTAGE_RETRY_AFTER = "5"


def is_database_unavailable(error: BaseException) -> bool:
    """True for "cannot reach the database" errors (refused, dropped, restarting, pool exhausted),
    not for bugs such as a bad query or a constraint violation."""
    from sqlalchemy import exc

    if isinstance(error, exc.TimeoutError):  # the connection pool had nothing to give
        return True
    if isinstance(error, exc.DBAPIError):
        return bool(error.connection_invalidated) or isinstance(
            error, exc.OperationalError | exc.InterfaceError)
    return False


def handle_database_unavailable(error: Exception):
    """A database outage is the client's cue to retry (503 + Retry-After), not a 500."""
    from hub.extensions import db

    log.warning("database unavailable: %s", type(error).__name__)
    try:
        db.session.rollback()  # hand the broken connection back so the pool can replace it
    except Exception:  # noqa: BLE001 - the session may be as dead as the server
        log.debug("rollback after a database outage failed", exc_info=True)
    return error_response(503, "The database is unavailable; retry shortly.",
                          headers={"Retry-After": OUTAGE_RETRY_AFTER})


class HubApi(Api):
    """flask-smorest Api whose errors and their docs are the hub's envelope."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return handle_http_exception(error)


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(HubError, handle_hub_error)
    app.register_error_handler(Exception, handle_unexpected)
