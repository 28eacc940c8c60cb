"""The request's context: its id, its timing, and the `meta` every envelope carries.

Every JSON response, success or error, carries `meta.request_id` and the
`X-Request-ID` header. Logs, audit rows, jobs and traces read the same id
through `current_request_id()`.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

import marshmallow as ma
from flask import Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_request_id() -> str | None:
    """The request id of the current request, or None outside one."""
    if has_request_context():
        return getattr(g, "request_id", None)
    return None


def begin_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    # Echo a client's id only if it is safe to put in logs and headers.
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "")
    return response


def meta(**extra: Any) -> dict[str, Any]:
    """`meta` for an envelope: request id, timing, and anything extra."""
    started = getattr(g, "request_started", None)
    out: dict[str, Any] = {"request_id": current_request_id()}
    if started is not None:
        out["timing"] = {"duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    out.update(extra)
    return out


class TimingSchema(ma.Schema):
    duration_ms = ma.fields.Float()


class PaginationMetaSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class MetaSchema(ma.Schema):
    request_id = ma.fields.String()
    timing = ma.fields.Nested(TimingSchema)
    pagination = ma.fields.Nested(PaginationMetaSchema)
