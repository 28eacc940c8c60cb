"""`file.process`: find out what an uploaded file is and what is inside it.

The handler reads the object once from storage, hashing it on the way, sniffs
the real content type from the first bytes, then by kind: images get their
dimensions and a thumbnail stored beside the original; CSVs are parsed as a
stream and checked against the declared column schema; everything else gets
type and hash only. On success the file is `processed` and `file.processed`
is published in the same transaction. A file that cannot be what it claims
(corrupt image, undecodable CSV) fails the job for good; the `job.failed`
listener below marks the file `failed` with the job's error.

Delivery is at least once: the thumbnail's key is derived from the file, so
a second run overwrites rather than adds, and a file already processed is
not processed (or announced) again.
"""
from __future__ import annotations

import io
import logging
import shutil
import tempfile
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import select

from hub import jobs
from hub.extensions import db
from hub.integrations.storage import ObjectNotFound, StorageError
from hub.jobs import events
from hub.jobs.types import JobContext, PermanentError, RetryableError, RetryPolicy, job_type
from hub.models import File, utcnow
from hub.services.files import analysis as file_analysis
from hub.services.files import current_storage, file_event_data, object_key, thumbnail_key
from hub.services.files.sniffing import CSV_DECLARED, SNIFF_BYTES, Detected, sniff

log = logging.getLogger(__name__)

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file_id"],
    "properties": {"file_id": {"type": "string", "format": "uuid",
                               "description": "The file to process (of the job's tenant)."}},
}

# Storage hiccups are worth a few quick tries; a bad file fails at once.
POLICY = RetryPolicy(max_attempts=4, base_delay=5.0, factor=3.0, max_delay=300.0)

# Reading is 5-90 % of the job; a step is reported each 10 %.
_READ_FROM, _READ_TO = 5, 90


@job_type("file.process", schema=SCHEMA, queue="files", retry=POLICY, creatable=False,
          created_through="POST /api/v1/files",
          description="Sniff an uploaded file's real type, hash it, and look inside: image "
                      "dimensions and thumbnail, CSV rows against the declared schema.")
def process_file(ctx: JobContext) -> dict[str, Any]:
    file_id = uuid.UUID(ctx.payload["file_id"])
    file = _load(ctx.tenant_id, file_id)
    if file is None:
        return {"file_id": str(file_id), "skipped": "the file was deleted"}
    if file.status == "processed":
        return _result(file)  # a repeated delivery: done already, announce nothing twice
    if file.status == "pending":
        raise PermanentError("The file was never uploaded.", code="FILE_NOT_UPLOADED")
    if file.status == "failed":  # retried by hand: start afresh
        file.status, file.error = "uploaded", None
        db.session.commit()
    ctx.progress(_READ_FROM, "reading the file")
    found = _inspect(ctx, file.storage_key, file.size, file.declared_content_type,
                     file.filename, file.csv_schema)
    return _finish(ctx, file_id, found)


def _load(tenant_id: uuid.UUID, file_id: uuid.UUID, lock: bool = False) -> File | None:
    query = select(File).where(File.id == file_id, File.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def _progress_reporter(ctx: JobContext, total: int | None):
    """Report each 10 % of the bytes read; each report is also a cancel checkpoint."""
    state = {"step": 0}

    def report(done: int) -> None:
        if not total:
            return
        step = min(10, done * 10 // total)
        if step > state["step"]:
            state["step"] = step
            ctx.progress(_READ_FROM + (_READ_TO - _READ_FROM) * step // 10,
                         f"read {done * 100 // total} % of {total} bytes")

    return report


def _inspect(ctx: JobContext, key: str, size: int | None, declared: str | None,
             filename: str, csv_schema: dict[str, Any] | None) -> dict[str, Any]:
    """Read the object once: sniff, look inside by kind, hash. Plain values out."""
    cfg = current_app.config
    storage = current_storage()
    try:
        with storage.open(key) as raw:
            reader = file_analysis.HashingReader(raw, _progress_reporter(ctx, size))
            head = reader.read_head(SNIFF_BYTES)
            detected = sniff(head, complete=len(head) < SNIFF_BYTES)
            metadata: dict[str, Any] = {"detected": {"description": detected.description}}
            thumbnail = None
            if detected.kind == "image":
                metadata["image"], thumbnail = _image(reader, cfg)
            elif _is_csv(detected, declared, filename, csv_schema):
                metadata["csv"] = _csv(reader, detected, csv_schema, cfg)
            elif csv_schema:
                raise PermanentError(f"A CSV was declared, but the file is {detected.description} "
                                     f"({detected.content_type}).", code="CSV_UNDECODABLE")
            reader.drain()
    except ObjectNotFound:
        raise PermanentError("The file's object is missing from storage.",
                             code="FILE_OBJECT_MISSING") from None
    except StorageError as exc:
        raise RetryableError(f"Storage is unavailable: {exc}", code="STORAGE_UNAVAILABLE") from None
    if thumbnail is not None:
        try:
            current_storage().put_bytes(thumbnail_key(key), thumbnail.data, thumbnail.content_type)
        except StorageError as exc:
            raise RetryableError(f"Storage is unavailable: {exc}", code="STORAGE_UNAVAILABLE") from None
        metadata["thumbnail"] = {"width": thumbnail.width, "height": thumbnail.height,
                                 "content_type": thumbnail.content_type, "size": len(thumbnail.data)}
    if detected.warnings:
        metadata["warnings"] = list(detected.warnings)
    if declared and declared != detected.content_type:
        metadata["declared_content_type_mismatch"] = True
    return {"content_type": detected.content_type, "kind": detected.kind, "metadata": metadata,
            "size": reader.size, "sha256": reader.sha256.hexdigest(),
            "thumbnail": thumbnail is not None}


def _is_csv(detected: Detected, declared: str | None, filename: str,
            csv_schema: dict[str, Any] | None) -> bool:
    """A CSV by its bytes, or plain text the client meant as a (one-column) CSV."""
    if detected.kind == "csv":
        return True
    meant = bool(csv_schema) or declared in CSV_DECLARED or filename.lower().endswith(".csv")
    return detected.kind == "text" and meant


def _image(reader: file_analysis.HashingReader, cfg: Any):
    # Pillow needs to seek: spool to memory, then to disk past 16 MB.
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        shutil.copyfileobj(reader, spool, file_analysis.READ_CHUNK)
        spool.seek(0)
        return file_analysis.analyse_image(spool, thumbnail_size=cfg["FILE_THUMBNAIL_SIZE"],
                                           max_pixels=cfg["FILE_IMAGE_MAX_PIXELS"],
                                           max_decode_bytes=cfg["FILE_IMAGE_MAX_DECODE_MB"] * 2**20)


def _csv(reader: file_analysis.HashingReader, detected: Detected,
         csv_schema: dict[str, Any] | None, cfg: Any) -> dict[str, Any]:
    if detected.encoding is None:
        raise PermanentError("The CSV is not UTF-8 or UTF-16 text.", code="CSV_UNDECODABLE")
    text = io.TextIOWrapper(io.BufferedReader(reader), encoding=detected.encoding, newline="")
    found = file_analysis.analyse_csv(text, delimiter=detected.delimiter or ",", schema=csv_schema,
                                      max_errors=cfg["FILE_CSV_MAX_ROW_ERRORS"])
    found["encoding"] = "utf-16" if detected.encoding == "utf-16" else "utf-8"
    text.detach()  # the reader is drained (and hashed) by the caller
    return found


def _finish(ctx: JobContext, file_id: uuid.UUID, found: dict[str, Any]) -> dict[str, Any]:
    ctx.progress(95, "saving what was found")
    try:
        return _record(ctx, file_id, found)
    except BaseException:
        # The ledger records the failure with this session: it must not commit
        # a half-made `processed` (the row and the event go together or not at all).
        db.session.rollback()
        raise


def _record(ctx: JobContext, file_id: uuid.UUID, found: dict[str, Any]) -> dict[str, Any]:
    file = _load(ctx.tenant_id, file_id, lock=True)
    if file is None:
        # Deleted while we worked: do not leave a thumbnail behind it.
        db.session.rollback()
        if found["thumbnail"]:
            _delete_quietly(thumbnail_key(object_key(ctx.tenant_id, file_id)))
        return {"file_id": str(file_id), "skipped": "the file was deleted"}
    if file.size is not None and file.size != found["size"]:
        raise PermanentError(f"The stored object has {found['size']} bytes, {file.size} were "
                             "uploaded.", code="FILE_SIZE_MISMATCH")
    if file.sha256 and file.sha256 != found["sha256"]:
        raise PermanentError("The stored object's SHA-256 differs from the upload's.",
                             code="FILE_CHECKSUM_MISMATCH")
    file.content_type = found["content_type"]
    file.size, file.sha256 = found["size"], found["sha256"]
    file.file_metadata = {"kind": found["kind"], **found["metadata"]}
    file.thumbnail_key = thumbnail_key(file.storage_key) if found["thumbnail"] else None
    file.status, file.error, file.processed_at = "processed", None, utcnow()
    events.publish(file.tenant_id, "file.processed", file_event_data(file))
    jobs.commit_and_dispatch()  # with whatever the event's listeners queued
    return _result(file)


def _delete_quietly(key: str) -> None:
    try:
        current_storage().delete(key)
    except StorageError as exc:
        log.warning("could not delete orphan thumbnail %s: %s", key, exc)


def _result(file: File) -> dict[str, Any]:
    return {"file_id": str(file.id), "content_type": file.content_type, "size": file.size,
            "sha256": file.sha256, "kind": file.file_metadata.get("kind")}


def _mark_failed(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """A `file.process` job failed for good: the file says so, in the same transaction."""
    if data.get("type") != "file.process":
        return
    file = db.session.scalar(select(File).where(File.tenant_id == tenant_id,
                                                File.job_id == uuid.UUID(data["id"])))
    if file is not None and file.status != "processed":
        file.status = "failed"
        file.error = data.get("error") or {"code": "PROCESSING_FAILED", "message": "Processing failed."}


events.subscribe("job.failed", _mark_failed)
