"""The success envelope, request ids, timing and pagination.

Every JSON response carries `meta.request_id` and `X-Request-ID`. Routes
return plain data; `HubBlueprint` wraps it, so no route builds an envelope by
hand.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

import marshmallow as ma
from flask import Flask, Response, g, has_request_context, request
from flask_smorest import Blueprint

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_request_id() -> str | None:
    """The request id of the current request, or None outside one."""
    if has_request_context():
        return getattr(g, "request_id", None)
    return None


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    # Echo a client's id only if it is safe to put in logs and headers.
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
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


def set_message(message: str) -> None:
    """Set the human-readable `message` of the current success envelope."""
    g.response_message = message


def set_pagination(page: int, per_page: int, total: int) -> None:
    """Record pagination for the current list response."""
    pages = (total + per_page - 1) // per_page if per_page else 0
    g.pagination = {"page": page, "per_page": per_page, "total": total, "pages": pages}


def success_body(data: Any) -> dict[str, Any]:
    extra = {}
    pagination = getattr(g, "pagination", None)
    if pagination is not None:
        extra["pagination"] = pagination
    return {
        "success": True,
        "data": data,
        "message": getattr(g, "response_message", "OK"),
        "meta": meta(**extra),
    }


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


class PaginationArgsSchema(ma.Schema):
    """Query arguments every list endpoint takes."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


_envelope_schemas: dict[str, type[ma.Schema]] = {}


def _envelope_schema(schema: ma.Schema) -> type[ma.Schema]:
    """A named schema documenting `{success, data: <schema>, message, meta}`."""
    base = type(schema).__name__.removesuffix("Schema")
    many = bool(getattr(schema, "many", False))
    name = f"{base}{'List' if many else ''}Envelope"
    if name not in _envelope_schemas:
        _envelope_schemas[name] = type(
            name,
            (ma.Schema,),
            {
                "success": ma.fields.Boolean(metadata={"example": True}),
                "data": ma.fields.Nested(type(schema), many=many),
                "message": ma.fields.String(),
                "meta": ma.fields.Nested(MetaSchema),
            },
        )
    return _envelope_schemas[name]


class HubBlueprint(Blueprint):
    """A flask-smorest Blueprint whose responses are the success envelope."""

    @staticmethod
    def _prepare_response_content(data: Any) -> dict[str, Any]:
        return success_body(data)

    @staticmethod
    def _make_doc_response_schema(schema: ma.Schema | None) -> Any:
        if schema is None:
            return None
        return _envelope_schema(schema)


def init_envelope(app: Flask) -> None:
    app.before_request(_begin_request)
    app.after_request(_finish_request)
