"""`Idempotency-Key` for streamed uploads.

The shared decorator fingerprints the request body, which would mean reading
a whole upload into memory before storing it. Here the key is reserved per
endpoint, and a repeated request is compared by what matters instead: the
file's name, its SHA-256 (hashed as the repeat streams in, nothing stored)
and the form fields. Same upload → the first answer; another → 409.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request
from flask_smorest import Blueprint

from hub.api.access import current_principal
from hub.api.files.multipart import read_upload_form
from hub.api.files.schemas import UploadFormSchema
from hub.api.idempotency import HEADER, MAX_KEY_LENGTH
from hub.errors import Conflict, ValidationFailed
from hub.services import files, idempotency


def _same_upload(first: dict[str, Any], allow_body: Callable[[], None]) -> bool:
    allow_body()
    form = read_upload_form(request)
    _, sha256 = files.digest_upload(form.chunks())
    form.finish()
    try:
        options = UploadFormSchema().load(form.fields)
        filename = files.sanitize_filename(form.filename, ("files", "file"))
    except (ma.ValidationError, ValidationFailed):
        return False
    return (filename == first.get("filename") and sha256 == first.get("sha256")
            and options.get("csv_schema") == first.get("csv_schema"))


def idempotent_upload(allow_body: Callable[[], None]) -> Callable:
    """Like `hub.api.idempotency.idempotent`, for a multipart upload view.

    `allow_body` raises the request's body limit for the upload before it is read.
    """

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None:
                return fn(*args, **kwargs)
            if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
                raise ValidationFailed(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.",
                                       details={"fields": {"headers": {HEADER: ["invalid"]}}})
            tenant_id = current_principal().tenant_id
            fp = idempotency.fingerprint(request.method, request.path, b"multipart upload")
            stored = idempotency.begin(tenant_id, key, fp)
            if stored is not None:
                if not _same_upload((stored.response or {}).get("data") or {}, allow_body):
                    raise Conflict("This Idempotency-Key was used with a different upload.",
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
                         "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                         "description": "Repeat an upload safely: the same key with the same file "
                                        "(name, content, fields) within 24 h returns the first "
                                        "response; another file is 409."}],
            responses={"409": "CONFLICT"},
        )(wrapper)

    return decorator
