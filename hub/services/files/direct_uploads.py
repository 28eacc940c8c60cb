"""Direct uploads: presign, receive (local backend), complete.

The client asks `/presign` for where to send the bytes, sends them there
(S3 directly, or a signed hub URL on the local backend), then calls
`/complete`: the hub checks the object is there with the promised size and
starts processing. Until then the file is `pending`.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub import audit
from hub.extensions import db
from hub.models import File, utcnow
from hub.services import quotas
from hub.services.files import (
    OCTET_STREAM,
    current_storage,
    delete_quietly,
    get_file,
    normalize_content_type,
    object_key,
    queue_processing,
    storage_call,
    stream_to_storage,
)
from hub.web.errors import Conflict, Forbidden, ValidationFailed

_UPLOAD_TOKEN_SALT = "hub.files.direct-upload"


def presign_upload(tenant_id: uuid.UUID, actor: audit.Actor, *, filename: str, content_type: str,
                   size: int, csv_schema: dict[str, Any] | None,
                   hub_upload_url: Callable[[uuid.UUID, str], str]) -> tuple[File, dict[str, Any]]:
    """A pending file and where to send its bytes: S3 directly, or the hub (local backend)."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if size > limit:
        raise ValidationFailed(f"The file is larger than the limit of {limit} bytes.",
                               details={"fields": {"json": {"size": [f"at most {limit} bytes"]}},
                                        "max_bytes": limit})
    quotas.reserve_storage(tenant_id, size)  # counted from now on, until deleted or abandoned
    storage = current_storage()
    file_id = uuid.uuid4()
    key = object_key(tenant_id, file_id)
    expires = current_app.config["STORAGE_UPLOAD_URL_SECONDS"]
    upload = storage_call(storage.upload_form, key, content_type=content_type, size=size,
                           expires=expires)
    if upload is None:
        token = _token_serializer().dumps({"f": str(file_id), "t": str(tenant_id), "s": size})
        upload = {"url": hub_upload_url(file_id, token), "method": "PUT",
                  "headers": {"Content-Type": content_type}}
    upload["expires_in"] = expires
    file = File(id=file_id, tenant_id=tenant_id, filename=filename, content_type=OCTET_STREAM,
                declared_content_type=content_type, expected_size=size, status="pending",
                storage_backend=storage.backend, storage_key=key, file_metadata={},
                csv_schema=csv_schema, created_by=actor.user_id, created_by_api_key=actor.api_key_id)
    db.session.add(file)
    audit.record(actor, "file.presigned", "file", file_id, {"filename": filename, "size": size})
    db.session.commit()
    return file, upload


def _token_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_UPLOAD_TOKEN_SALT)


def receive_direct_upload(file_id: uuid.UUID, token: str, chunks: Iterable[bytes],
                          content_type: str | None) -> File:
    """The bytes of a presigned upload sent to the hub (local backend), checked like S3 would."""
    try:
        claims = _token_serializer().loads(token, max_age=current_app.config["STORAGE_UPLOAD_URL_SECONDS"])
    except SignatureExpired:
        raise Forbidden("This upload URL has expired; ask for a new one.") from None
    except BadSignature:
        raise Forbidden("This upload URL is not valid.") from None
    if claims.get("f") != str(file_id):
        raise Forbidden("This upload URL is not valid.")
    file = get_file(uuid.UUID(claims["t"]), file_id)
    if file.status != "pending":
        raise Conflict(f"This file is already {file.status}; its upload URL is spent.")
    if normalize_content_type(content_type) != file.declared_content_type:
        raise ValidationFailed("Content-Type must be the one given when presigning.",
                               details={"fields": {"headers": {"Content-Type": [
                                   f"expected {file.declared_content_type}"]}}})
    expected = file.expected_size or 0
    size, _ = stream_to_storage(current_storage(), file.storage_key, chunks, expected)
    if size != expected:
        delete_quietly(current_storage(), file.storage_key)
        raise ValidationFailed(f"Expected {expected} bytes, received {size}.",
                               details={"expected_size": expected, "size": size})
    # The URL carries no login; the bytes are on behalf of whoever presigned it.
    audit.record(audit.Actor(file.tenant_id, file.created_by, file.created_by_api_key),
                 "file.received", "file", file.id, {"size": size})
    db.session.commit()
    return file


def complete_upload(tenant_id: uuid.UUID, actor: audit.Actor, file_id: uuid.UUID) -> File:
    """After a direct upload: check the object is there with the promised size, then process."""
    file = get_file(tenant_id, file_id, lock=True)
    if file.status != "pending":
        raise Conflict(f"This file is already {file.status}.")
    storage = current_storage()
    info = storage_call(storage.head, file.storage_key)
    if info is None:
        raise Conflict("Nothing has been uploaded for this file yet; send it to the upload URL first.")
    if info.size != file.expected_size:
        delete_quietly(storage, file.storage_key)
        db.session.commit()
        raise ValidationFailed(f"The upload has {info.size} bytes, {file.expected_size} were announced; "
                               "it was discarded, upload it again.",
                               details={"expected_size": file.expected_size, "size": info.size})
    file.size, file.status, file.uploaded_at = info.size, "uploaded", utcnow()
    queue_processing(file, actor, "file.uploaded", {"via": "presigned"})
    return file
