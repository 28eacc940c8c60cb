"""`Idempotency-Key` for every endpoint that creates work: one decorator."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from hub.api.access import current_principal
from hub.errors import ValidationFailed
from hub.services import idempotency

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def idempotent(fn: Callable) -> Callable:
    """Replay the first answer for a repeated key; 409 for a key reused differently.

    Goes below `auth_required` (it needs the caller's tenant) and above the
    smorest decorators (it stores the finished response).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return fn(*args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationFailed(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.",
                                   details={"fields": {"headers": {HEADER: ["invalid"]}}})
        tenant_id = current_principal().tenant_id
        fp = idempotency.fingerprint(request.method, request.path, request.get_data(cache=True))
        stored = idempotency.begin(tenant_id, key, fp)
        if stored is not None:
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
                     "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                     "description": "Repeat a request safely: the same key and body within "
                                    "24 h returns the first response; another body is 409."}],
        responses={"409": "CONFLICT"},
    )(wrapper)
