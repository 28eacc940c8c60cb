"""`Idempotency-Key` for every endpoint that creates work: one decorator."""
from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from hub.api.access import current_principal
from hub.services import idempotency
from hub.web.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII with at least one visible character; documented as the header's
# schema, so what the OpenAPI document promises is exactly what is accepted.
KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"


DESCRIPTION = ("Repeat a request safely: the same key and body within 24 h returns the first "
               "response; another body is 409.")


def make_idempotent(body: Callable[[], bytes], same_request: Callable[[dict[str, Any]], bool] | None = None,
                    description: str = DESCRIPTION) -> Callable[[Callable], Callable]:
    """An `Idempotency-Key` decorator: replay the first answer for a repeated key; 409 for a
    key reused differently.

    `body` gives the bytes fingerprinted with the method and path. `same_request`, if
    given, is asked on a repeat whether this request matches the first one's answer
    (`data`); for bodies too large to fingerprint, such as streamed uploads. Goes below
    `auth_required` (it needs the caller's tenant) and above the smorest decorators (it
    stores the finished response).
    """

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None:
                return fn(*args, **kwargs)
            if len(key) > MAX_KEY_LENGTH or not re.fullmatch(KEY_PATTERN, key):
                raise ValidationFailed(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters, "
                                       "not only spaces.",
                                       details={"fields": {"headers": {HEADER: ["invalid"]}}})
            tenant_id = current_principal().tenant_id
            fp = idempotency.fingerprint(request.method, request.path, body())
            stored = idempotency.begin(tenant_id, key, fp)
            if stored is not None:
                if same_request is not None and not same_request((stored.response or {}).get("data") or {}):
                    raise Conflict("This Idempotency-Key was used with a different request.",
                                   details={"idempotency_key": key})
                replay = jsonify(stored.response)
                replay.status_code = stored.status_code
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
            try:
                response = fn(*args, **kwargs)
            except BaseException:
                idempotency.release(tenant_id, key)
                raise
            if isinstance(response, Response) and 200 <= response.status_code < 300 and response.is_json:
                idempotency.complete(tenant_id, key, response.status_code, response.get_json())
            else:
                idempotency.release(tenant_id, key)
            return response

        return Blueprint.doc(
            parameters=[{"in": "header", "name": HEADER, "required": False,
                         "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
                                    "pattern": KEY_PATTERN},
                         "description": description}],
            responses={"409": "CONFLICT"},
        )(wrapper)

    return decorator


# The decorator for JSON endpoints: the whole body is the fingerprint.
idempotent = make_idempotent(lambda: request.get_data(cache=True))
