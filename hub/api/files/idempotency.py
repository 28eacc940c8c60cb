"""`Idempotency-Key` for streamed uploads.

The shared decorator fingerprints the request body, which would mean reading
a whole upload into memory before storing it. Here the key is reserved per
endpoint, and a repeated request is compared by what matters instead: the
file's name, its SHA-256 (hashed as the repeat streams in, nothing stored)
and the form fields. Same upload → the first answer; another → 409.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import request

from hub.api.files.multipart import read_upload_form
from hub.api.files.schemas import UploadFormSchema
from hub.api.idempotency import make_idempotent
from hub.services import files
from hub.web.errors import ValidationFailed


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
    """`hub.api.idempotency.idempotent` for a multipart upload view: the key is reserved
    per endpoint and a repeat is compared by `_same_upload`.

    `allow_body` raises the request's body limit for the upload before it is read.
    """
    return make_idempotent(
        lambda: b"multipart upload", same_request=lambda first: _same_upload(first, allow_body),
        description="Repeat an upload safely: the same key with the same file (name, content, "
                    "fields) within 24 h returns the first response; another file is 409.")
