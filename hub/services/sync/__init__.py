"""The sync engine: the `sync.run` job type.

A run fetches pages from the connector until one says it is the last. Each
page's records, the cursor of the next page and the run's counts so far commit
in one transaction, so a run cut short (a killed worker, a retry) resumes at the
first page not yet committed: nothing is lost and nothing is counted twice.

Who may write: the connection's `sync_job_id` names the job that owns it (set
under a row lock when the job is queued), and every page commit checks, under
the row lock, that the number of committed pages is what this attempt expects,
so a stale attempt of the same job (its lease lost) cannot commit a page twice.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

from flask import current_app

from hub import audit, jobs
from hub.extensions import db
from hub.integrations.connectors.base import (
    AuthFailed,
    Connector,
    ConnectorError,
    HttpClient,
    Page,
    TemporaryFailure,
)
from hub.integrations.connectors.registry import get_connector
from hub.jobs import events
from hub.jobs.types import JobContext, LeaseLost, PermanentError, RetryableError, RetryPolicy, job_type
from hub.models import Connection, Job, utcnow
from hub.realtime import notify_tenant
from hub.services import encryption
from hub.services.sync.connections import SYNC_JOB, active_sync_job, credentials_of, lock
from hub.services.sync.store import mark_deleted, mark_unseen_deleted, upsert_records
from hub.services.webhooks import allow_private

log = logging.getLogger(__name__)

COUNT_KEYS = ("pages", "records", "created", "updated", "unchanged", "deleted")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection_id"],
    "properties": {
        "connection_id": {"type": "string", "format": "uuid"},
        "trigger": {"type": "string", "enum": ["manual", "schedule"]},
    },
}

POLICY = RetryPolicy(max_attempts=6, base_delay=5.0, factor=3.0, max_delay=1800.0)


def http_client(config: Any) -> HttpClient:
    return HttpClient(allow_private=allow_private(config),
                      timeout=float(config["SYNC_HTTP_TIMEOUT_SECONDS"]),
                      retries=int(config["SYNC_HTTP_RETRIES"]),
                      backoff=float(config["SYNC_HTTP_BACKOFF_SECONDS"]),
                      max_inline_wait=float(config["SYNC_MAX_INLINE_WAIT_SECONDS"]))


@job_type(SYNC_JOB, schema=SCHEMA, queue="sync", retry=POLICY, creatable=False,
          flow_keys=lambda payload, tenant_id: [f"connection:{payload['connection_id']}"],
          created_through="POST /api/v1/connections/{connection_id}/sync",
          description="Sync one connection (internal: POST /connections/{id}/sync and schedules).")
def run_sync(ctx: JobContext) -> dict[str, Any]:
    connection_id = uuid.UUID(ctx.payload["connection_id"])
    connection = _claim(connection_id, ctx.job_id)
    run_number = connection.run_number
    cursor, pages_done = connection.cursor, int((connection.run_counts or {}).get("pages", 0))
    db.session.commit()  # the claim stands; release the row lock before talking to the source
    connector = _build(connection)
    while True:
        ctx.check_cancelled()
        try:
            page = connector.fetch(cursor)
            if not page.done and (page.next_cursor is None or page.next_cursor == cursor):
                raise ConnectorError("the connector gave no new cursor for the next page")
        except AuthFailed as exc:
            _fail(connection_id, str(exc), attention=True)
            raise PermanentError(f"The source refused the connection's credentials: {exc}",
                                 code="SYNC_AUTH_FAILED") from None
        except TemporaryFailure as exc:
            _note_error(connection_id, str(exc), ctx)
            raise RetryableError(f"The source is unavailable: {exc}", code="SYNC_SOURCE_UNAVAILABLE",
                                 retry_after=exc.retry_after) from None
        except ConnectorError as exc:
            _fail(connection_id, str(exc), attention=False)
            raise PermanentError(f"The sync failed: {exc}", code="SYNC_SOURCE_ERROR") from None
        counts = _commit_page(connection_id, ctx.job_id, pages_done, page)
        pages_done += 1
        if page.done:
            ctx.progress(100, _summary(counts))
            return {"connection_id": str(connection_id), "run": run_number, **counts}
        percent = round(100 * page.progress) if page.progress is not None else 100 * (1 - 0.85 ** pages_done)
        ctx.progress(min(99, int(percent)), f"page {pages_done}: " + _summary(counts))
        cursor = page.next_cursor


def _claim(connection_id: uuid.UUID, job_id: uuid.UUID) -> Connection:
    """Take the connection for this job and start a run, or resume the unfinished one."""
    connection = lock(connection_id)
    if connection is None:
        raise PermanentError("The connection was deleted.", code="SYNC_CONNECTION_GONE")
    if connection.sync_job_id != job_id:
        other = active_sync_job(connection)
        if other is not None:
            raise PermanentError("Another sync of this connection is running.", code="SYNC_BUSY")
        connection.sync_job_id = job_id
    if not connection.run_active:
        connection.run_number += 1
        connection.run_active = True
        connection.run_full_pass = connection.cursor is None
        connection.run_counts = dict.fromkeys(COUNT_KEYS, 0)
    return connection


def _build(connection: Connection) -> Connector:
    cls = get_connector(connection.connector)
    if cls is None:
        _fail(connection.id, f"connector {connection.connector!r} is not installed", attention=True)
        raise PermanentError(f"The connector {connection.connector!r} is not installed on this worker.",
                             code="SYNC_CONNECTOR_MISSING")
    try:
        credentials = credentials_of(connection)
    except encryption.DecryptionError:
        log.error("credentials of connection %s cannot be decrypted; check ENCRYPTION_KEYS", connection.id)
        _fail(connection.id, "the stored credentials cannot be decrypted", attention=True)
        raise PermanentError("The connection's credentials cannot be decrypted.",
                             code="SYNC_CREDENTIALS_UNREADABLE") from None
    return cls(connection.config, credentials, http_client(current_app.config))


def _commit_page(connection_id: uuid.UUID, job_id: uuid.UUID, pages_done: int, page: Page) -> dict[str, int]:
    """Store a page and move the cursor in one transaction; on the last page, finish the run."""
    connection = lock(connection_id)
    if connection is None:
        db.session.rollback()
        raise PermanentError("The connection was deleted during the sync.", code="SYNC_CONNECTION_GONE")
    counts = Counter({k: int(v) for k, v in (connection.run_counts or {}).items()})
    if connection.sync_job_id != job_id or not connection.run_active or counts["pages"] != pages_done:
        db.session.rollback()
        raise LeaseLost(f"connection {connection_id} moved on without this attempt")
    batch = int(current_app.config["SYNC_BATCH_SIZE"])
    counts.update(upsert_records(connection.tenant_id, connection.id, connection.run_number,
                                 page.records, batch))
    counts["deleted"] += mark_deleted(connection.id, page.deleted)
    counts["pages"] += 1
    counts["records"] += len(page.records)
    if page.done and connection.run_full_pass:
        counts["deleted"] += mark_unseen_deleted(connection.id, connection.run_number)
    result = {k: counts[k] for k in COUNT_KEYS}
    connection.run_counts = result
    connection.cursor = page.next_cursor
    if not page.done:
        db.session.commit()
    else:
        _finish(connection, result)
        jobs.commit_and_dispatch()  # commits, then dispatches the jobs event subscribers added
        notify_tenant(connection.tenant_id, "sync.completed",
                      f"Sync of {connection.name} finished: {_summary(result)}.",
                      {"connection_id": str(connection.id), "counts": result})
    return result


def _finish(connection: Connection, counts: dict[str, int]) -> None:
    connection.run_active = False
    connection.last_sync_at = utcnow()
    connection.last_sync_status = "succeeded"
    connection.last_sync_counts = counts
    connection.last_error = None
    connection.status, connection.status_reason = "ok", None
    # In the finishing transaction: subscribers (webhooks) queue their work with it.
    events.publish(connection.tenant_id, "sync.completed",
                   {"connection_id": str(connection.id), "connector": connection.connector,
                    "name": connection.name, "run": connection.run_number,
                    "job_id": str(connection.sync_job_id), "counts": counts})


def _fail(connection_id: uuid.UUID, reason: str, *, attention: bool) -> None:
    """Record a failed run on the connection (its committed pages stay; the next sync resumes)."""
    db.session.rollback()
    connection = lock(connection_id)
    if connection is None:
        return
    connection.last_sync_status, connection.last_sync_at = "failed", utcnow()
    connection.last_error = reason[:1000]
    if attention and connection.status != "needs_attention":
        connection.status, connection.status_reason = "needs_attention", reason[:500]
        audit.record(audit.Actor(connection.tenant_id), "connection.needs_attention", "connection",
                     connection.id, {"reason": reason[:500]})
    db.session.commit()
    if attention:
        notify_tenant(connection.tenant_id, "connection.needs_attention",
                      f"Connection {connection.name} needs attention: {reason}",
                      {"connection_id": str(connection.id), "reason": reason})


def _note_error(connection_id: uuid.UUID, reason: str, ctx: JobContext) -> None:
    job = db.session.get(Job, ctx.job_id)
    if job is not None and ctx.attempt >= job.max_attempts:
        _fail(connection_id, reason, attention=False)
        return
    db.session.rollback()
    connection = db.session.get(Connection, connection_id)
    if connection is not None:
        connection.last_error = reason[:1000]
        db.session.commit()


def _summary(counts: dict[str, int]) -> str:
    return (f"{counts['records']} records: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['deleted']} deleted")
