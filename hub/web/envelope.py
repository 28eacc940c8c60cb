"""The success envelope, pagination, and the strict argument parser.

Routes return plain data; `HubBlueprint` wraps it in the success envelope, so
no route builds an envelope by hand. The request id and `meta` are in
`hub.web.context`, shared with the error envelope.
"""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, g
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from hub.web.context import MetaSchema, begin_request, finish_request, meta


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


class NoArgsSchema(ma.Schema):
    """For operations that take no query parameters: any given is a 422."""


class PaginationArgsSchema(ma.Schema):
    """Query arguments every list endpoint takes."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
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


def _bad_text(value: Any, path: str = "") -> str | None:
    """The path of the first string that no database can store, if any."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "_schema"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \udXXX escape
            return path or "_schema"
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _bad_text(key, f"{path}.{key}".lstrip(".")) if isinstance(key, str) else None
        found = found or _bad_text(item, f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


class StrictTextParser(FlaskParser):
    """Refuse text that PostgreSQL cannot store (NUL, lone surrogates) with a 422,
    in any location and at any depth, instead of failing at INSERT time; read JSON
    bodies with the hub's bounded parser (hub.web.jsonio); and answer a body in
    another format where JSON is read with a 415 that says so (webargs would
    read it as no body and report every required field as missing)."""

    def _raw_load_json(self, req):
        # webargs' own, with hub.web.jsonio.loads instead of json.loads (webargs turns
        # JSONDecodeError into a 400; jsonio's errors are the hub's own 400/422).
        from hub.web import jsonio  # here: hub.web.errors imports this module

        if not is_json_request(req):
            if req.mimetype or req.content_length or req.headers.get("Transfer-Encoding"):
                from hub.web.errors import UnsupportedMediaType

                sent = req.mimetype or "no Content-Type"
                raise UnsupportedMediaType(
                    f"Send the body as JSON with 'Content-Type: application/json' (this request "
                    f"sent {sent}).", details={"content_type": req.mimetype or None})
            return core.missing
        # Not UTF-8: UnicodeDecodeError, which webargs answers with a 400. (A JSONDecodeError
        # with an empty `doc` would be taken for an empty body and the fields for missing.)
        return jsonio.loads(req.get_data(cache=True).decode("utf-8"))

    def pre_load(self, location_data, *, schema, req, location):
        data = super().pre_load(location_data, schema=schema, req=req, location=location)
        where = _bad_text(dict(data) if hasattr(data, "keys") else data)
        if where:
            from hub.web.errors import ValidationFailed

            raise ValidationFailed(
                "Text may not contain NUL characters or unpaired surrogates.",
                details={"fields": {location: {where: ["contains characters that cannot be stored"]}}})
        return data


class HubBlueprint(Blueprint):
    """A flask-smorest Blueprint whose responses are the success envelope.

    Arguments are strict in every location: an unknown query parameter is a 422
    like an unknown body field (webargs would silently drop it), so a typo such
    as `?satus=failed` is reported instead of returning everything.
    """

    ARGUMENTS_PARSER = StrictTextParser(unknown=None)

    def __init__(self, *args: Any, versioned: bool = True, **kwargs: Any) -> None:
        """`versioned=False` serves the blueprint outside `/api/v1` (the health probes)."""
        super().__init__(*args, **kwargs)
        self.versioned = versioned

    @staticmethod
    def _prepare_response_content(data: Any) -> dict[str, Any]:
        return success_body(data)

    @staticmethod
    def _make_doc_response_schema(schema: ma.Schema | None) -> Any:
        if schema is None:
            return None
        return _envelope_schema(schema)


def init_envelope(app: Flask) -> None:
    from hub.web.jsonio import HubJSONProvider

    app.json = HubJSONProvider(app)
    app.before_request(begin_request)
    app.after_request(finish_request)
