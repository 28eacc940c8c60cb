"""Reading JSON from clients, in one place: bounded depth, finite numbers only.

Every JSON request body (flask-smorest's arguments, `request.get_json`) and every
Stripe event goes through `loads`, so hostile JSON is a clean 4xx wherever it is
sent, never a RecursionError or a NaN that PostgreSQL refuses later:

- nested deeper than `MAX_DEPTH` → 400 (`JsonTooDeep`), with no traceback logged;
- `NaN`, `Infinity`, `-Infinity`, or a number too large for a float (`1e999`)
  → 422 (`JsonNotFinite`): JSON (RFC 8259) has no such numbers.
"""
from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

from hub.web.errors import BadRequest, ValidationFailed

MAX_DEPTH = 64


class JsonTooDeep(BadRequest):
    pass


class JsonNotFinite(ValidationFailed):
    pass


def _refuse_constant(name: str) -> Any:
    raise JsonNotFinite(f"{name} is not a JSON number; send finite numbers only.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonNotFinite(f"The number {text[:40]} is too large; send finite numbers only.")
    return value


def _too_deep() -> JsonTooDeep:
    return JsonTooDeep(f"The JSON is nested too deep (more than {MAX_DEPTH} levels).",
                       details={"max_depth": MAX_DEPTH})


def _check_depth(value: Any) -> None:
    """Iteratively, so a deep value cannot exhaust the stack here either."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def loads(data: str | bytes | bytearray) -> Any:
    """Parse client JSON; raise json.JSONDecodeError (invalid), JsonTooDeep or JsonNotFinite."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # the parser's own limit (~1000 levels) came first
        raise _too_deep() from None
    _check_depth(value)
    return value


class HubJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with `loads` above (request.get_json)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
