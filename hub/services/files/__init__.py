"""Files: storage keys, streamed uploads, direct (presigned) uploads, reads, deletes.

The storage key is the hub's (`tenants/<tenant>/files/<file>/original`), never
the client's name, which is only sanitized and kept for display and for the
download's file name. Every read is scoped to the caller's tenant.

Nothing is left behind by a failed upload: the object only appears when its
writer commits, and if the row cannot be written after that, the object is
deleted again.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from hub import audit, jobs
from hub.extensions import db
from hub.integrations.storage import Storage, StorageError, make_storage
from hub.models import ACTIVE_STATUSES, File, utcnow
from hub.models.base import paginate
from hub.services import quotas
from hub.web.errors import Conflict, HubError, NotFound, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
_CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# C0/C1 controls and the bidirectional overrides that make "gpj.exe" look like "exe.jpg".
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class PayloadTooLarge(HubError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


# --- storage and keys -------------------------------------------------------------

def current_storage() -> Storage:
    """The app's storage backend, made once from its settings."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get("hub.storage")
    if storage is None:
        storage = make_storage(app.config, os.path.dirname(app.instance_path))
        app.extensions["hub.storage"] = storage
    return storage


def object_key(tenant_id: uuid.UUID, file_id: uuid.UUID) -> str:
    return f"tenants/{tenant_id}/files/{file_id}/original"


def thumbnail_key(key: str) -> str:
    """The thumbnail lives beside its original."""
    return key.rsplit("/", 1)[0] + "/thumbnail"


def storage_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except StorageError as exc:
        log.warning("storage error: %s", exc)
        raise ServiceUnavailable("File storage is unavailable; try again shortly.") from None


# --- input ---------------------------------------------------------------------------

def sanitize_filename(raw: str | None, where: tuple[str, str]) -> str:
    """The client's file name, checked: a plain name, no path, no control characters."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    problem = None
    if not name:
        problem = "a file name is required"
    elif _UNSAFE_CHARS.search(name):
        problem = "the file name contains control characters"
    elif "/" in name or "\\" in name or name in (".", ".."):
        problem = "the file name must be a plain name, not a path"
    elif len(name) > 255:
        problem = "the file name is longer than 255 characters"
    if problem:
        location, field = where
        raise ValidationFailed(f"Invalid file name: {problem}.",
                               details={"fields": {location: {field: [problem]}}})
    return name


def normalize_content_type(raw: str | None) -> str | None:
    """`type/subtype` in lower case without parameters, or None if absent or malformed."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE_RE.match(value) else None


# --- streamed upload (POST /files) -----------------------------------------------------

def receive_upload(tenant_id: uuid.UUID, actor: audit.Actor, *, filename: str,
                   declared_type: str | None, chunks: Iterable[bytes],
                   csv_schema: dict[str, Any] | None,
                   before_commit: Callable[[], None] | None = None) -> File:
    """Stream `chunks` into storage (hashing and counting), then add the row and its job.

    Raises PayloadTooLarge past MAX_UPLOAD_BYTES and ValidationFailed for an
    empty file; `before_commit` may refuse the rest of the request. Whatever
    fails, neither the object nor the row is left behind.
    """
    file_id = uuid.uuid4()
    key = object_key(tenant_id, file_id)
    storage = current_storage()
    max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
    # The stream stops where the quota would; the row is checked again under a lock below.
    room = quotas.storage_room(tenant_id)
    if room is not None and room <= 0:
        raise quotas.over_quota(tenant_id, 1)
    try:
        size, sha256 = stream_to_storage(storage, key, chunks,
                                         max_bytes if room is None else min(max_bytes, room))
    except PayloadTooLarge:
        if room is not None and room < max_bytes:
            raise quotas.over_quota(tenant_id, room + 1) from None
        raise
    try:
        quotas.reserve_storage(tenant_id, size)  # again, under the tenant's lock
        if before_commit is not None:
            before_commit()
        file = File(id=file_id, tenant_id=tenant_id, filename=filename, content_type=OCTET_STREAM,
                    declared_content_type=declared_type, size=size, sha256=sha256,
                    status="uploaded", storage_backend=storage.backend, storage_key=key,
                    file_metadata={}, csv_schema=csv_schema, uploaded_at=utcnow(),
                    created_by=actor.user_id, created_by_api_key=actor.api_key_id)
        db.session.add(file)
        queue_processing(file, actor, "file.uploaded", {"via": "upload"})
    except BaseException:
        db.session.rollback()
        delete_quietly(storage, key)
        raise
    return file


def stream_to_storage(storage: Storage, key: str, chunks: Iterable[bytes],
                       limit: int) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with _storage_guard(), storage.writer(key) as writer:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The file is larger than the limit of {limit} bytes.",
                                      details={"max_bytes": limit})
            digest.update(chunk)
            writer.write(chunk)
        if size == 0:
            raise ValidationFailed("The file is empty.",
                                   details={"fields": {"files": {"file": ["the file is empty"]}}})
        writer.commit()
    return size, digest.hexdigest()


class _storage_guard:  # noqa: N801 - used like contextlib's lower-case managers
    """StorageError inside the block becomes 503 for the client."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, StorageError):
            log.warning("storage error: %s", exc)
            raise ServiceUnavailable("File storage is unavailable; try again shortly.") from None


def digest_upload(chunks: Iterable[bytes]) -> tuple[int, str]:
    """Size and SHA-256 of a body without storing it (to compare an idempotent replay)."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        digest.update(chunk)
    return size, digest.hexdigest()


def queue_processing(file: File, actor: audit.Actor, action: str, details: dict[str, Any]) -> None:
    """Add the `file.process` job and the audit event; commit, then dispatch."""
    db.session.flush()
    job = jobs.create_job(file.tenant_id, "file.process", {"file_id": str(file.id)},
                          created_by=actor.user_id, api_key_id=actor.api_key_id, internal=True)
    file.job_id = job.id
    audit.record(actor, action, "file", file.id, {"filename": file.filename, "size": file.size,
                                                  "sha256": file.sha256, **details})
    jobs.commit_and_dispatch()


def delete_quietly(storage: Storage, *keys: str) -> None:
    try:
        storage.delete(*keys)
    except StorageError as exc:
        log.error("could not delete objects %s after a failed upload: %s", keys, exc)


# --- reading ---------------------------------------------------------------------------

def get_file(tenant_id: uuid.UUID, file_id: uuid.UUID, lock: bool = False) -> File:
    """A file of this tenant, or NotFound."""
    query = select(File).where(File.id == file_id, File.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    file = db.session.scalar(query)
    if file is None:
        raise NotFound("File not found.")
    return file


def list_files(tenant_id: uuid.UUID, page: int, per_page: int,
               status: str | None = None) -> tuple[list[File], int]:
    """The tenant's files, newest first."""
    query = select(File).where(File.tenant_id == tenant_id)
    if status:
        query = query.where(File.status == status)
    return paginate(query, page, per_page, File.created_at.desc(), File.id)


def public_status(file: File) -> str:
    """`processing` while its job runs; otherwise the stored status."""
    if file.status == "uploaded" and file.job is not None and file.job.status in ("running", "retrying"):
        return "processing"
    return file.status


def file_event_data(file: File) -> dict[str, Any]:
    """The body of the `file.processed` domain event."""
    return {"id": str(file.id), "filename": file.filename, "content_type": file.content_type,
            "size": file.size, "sha256": file.sha256, "status": file.status,
            "metadata": file.file_metadata, "job_id": str(file.job_id) if file.job_id else None,
            "created_by": str(file.created_by) if file.created_by else None}


@dataclass(frozen=True)
class Download:
    """Where a download is served from: a short-lived URL, or a local path."""

    filename: str
    content_type: str
    size: int | None
    etag: str | None
    url: str | None = None
    path: str | None = None


def download(tenant_id: uuid.UUID, file_id: uuid.UUID, thumbnail: bool = False) -> Download:
    file = get_file(tenant_id, file_id)
    if file.status == "pending":
        raise Conflict("This file has not been uploaded yet.")
    if thumbnail:
        if not file.thumbnail_key:
            raise NotFound("This file has no thumbnail.")
        meta = file.file_metadata.get("thumbnail", {})
        stem = file.filename.rsplit(".", 1)[0]
        ext = "png" if meta.get("content_type") == "image/png" else "jpg"
        key, name, ctype = file.thumbnail_key, f"{stem}-thumbnail.{ext}", meta.get("content_type")
        size, etag = meta.get("size"), None
    else:
        # Until the bytes were sniffed, the client's claim is not repeated to browsers.
        key, name = file.storage_key, file.filename
        ctype = file.content_type if file.status == "processed" else OCTET_STREAM
        size, etag = file.size, file.sha256
    storage = current_storage()
    ctype = ctype or OCTET_STREAM
    url = storage.download_url(key, filename=name, content_type=ctype,
                               expires=current_app.config["STORAGE_DOWNLOAD_URL_SECONDS"])
    if url is not None:
        return Download(name, ctype, size, etag, url=url)
    path = storage.path(key)  # type: ignore[attr-defined]  # the local backend
    if not path.is_file():
        raise NotFound("The file's content is missing from storage.")
    return Download(name, ctype, size, etag, path=str(path))


# --- deleting ----------------------------------------------------------------------------

def delete_file(tenant_id: uuid.UUID, actor: audit.Actor, file_id: uuid.UUID) -> None:
    """Delete the object, its thumbnail and the row; stop its processing if still running."""
    file = get_file(tenant_id, file_id, lock=True)
    keys = {file.storage_key, thumbnail_key(file.storage_key)}
    if file.thumbnail_key:
        keys.add(file.thumbnail_key)
    # Objects first: if storage fails, the row stays and the delete can be repeated.
    storage_call(current_storage().delete, *sorted(keys))
    job = file.job
    audit.record(actor, "file.deleted", "file", file.id, {"filename": file.filename,
                                                          "size": file.size, "sha256": file.sha256})
    db.session.delete(file)
    if job is not None and job.status in ACTIVE_STATUSES:
        jobs.cancel(job)  # commits the deletion with it
    else:
        db.session.commit()


# --- housekeeping --------------------------------------------------------------------------

def purge_abandoned(pending_ttl: timedelta, batch: int = 500) -> dict[str, int]:
    """Remove what abandoned uploads left: presigned files never completed, and the
    partial objects of uploads interrupted mid-stream (a process killed)."""
    cutoff = utcnow() - pending_ttl
    storage = current_storage()
    stale = db.session.scalars(select(File).where(File.status == "pending", File.created_at < cutoff)
                               .order_by(File.created_at).limit(batch)
                               .with_for_update(skip_locked=True)).all()
    for file in stale:
        storage.delete(file.storage_key)
        audit.record(audit.Actor(file.tenant_id), "file.expired", "file", file.id,
                     {"filename": file.filename, "reason": "direct upload never completed"})
        db.session.delete(file)
    db.session.commit()
    partial = storage.purge_incomplete("tenants/", pending_ttl.total_seconds())
    if stale or partial:
        log.info("purged %s abandoned direct uploads and %s partial objects", len(stale), partial)
    return {"pending_files": len(stale), "partial_objects": partial}
