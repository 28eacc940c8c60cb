"""Storing synced records: batched upserts keyed by (connection, external id), with counts.

Per batch: one SELECT of the stored content hashes (to count created, updated
and unchanged exactly), then one multi-row `INSERT ... ON CONFLICT DO UPDATE`
(PostgreSQL, and SQLite for `make run`). Unchanged rows are written too, to
stamp `seen_run`, which lets a full pass find the records the source dropped.
Other databases fall back to a row-at-a-time update-or-insert.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.connectors.base import Record
from hub.extensions import db
from hub.models import SyncRecord, utcnow

TABLE = SyncRecord.__table__


def content_hash(data: Any) -> str:
    """SHA-256 of the record's canonical JSON: key order and spacing do not count as change."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def upsert_records(tenant_id: uuid.UUID, connection_id: uuid.UUID, run_number: int,
                   records: Sequence[Record], batch_size: int = 500) -> Counter:
    """Write a page of records in the caller's transaction; Counter of created/updated/unchanged."""
    latest: dict[str, Record] = {}
    for record in records:  # the same id twice in a page: the later one wins
        latest[record.external_id] = record
    counts: Counter = Counter()
    now = utcnow()
    for batch in _batches(list(latest.values()), max(1, batch_size)):
        ids = [r.external_id for r in batch]
        stored = {row.external_id: (row.content_hash, row.deleted_at) for row in db.session.execute(
            select(SyncRecord.external_id, SyncRecord.content_hash, SyncRecord.deleted_at)
            .where(SyncRecord.connection_id == connection_id, SyncRecord.external_id.in_(ids)))}
        rows = []
        for record in batch:
            digest = content_hash(record.data)
            before = stored.get(record.external_id)
            if before is None:
                counts["created"] += 1
            elif before[0] != digest or before[1] is not None:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            rows.append({"tenant_id": tenant_id, "connection_id": connection_id,
                         "external_id": record.external_id, "data": dict(record.data),
                         "content_hash": digest, "seen_run": run_number, "created_at": now,
                         "updated_at": now, "deleted_at": None})
        _write(rows)
    return counts


def _write(rows: list[dict[str, Any]]) -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        _write_portably(rows)
        return
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TABLE).values(rows)
    new = insert.excluded
    changed = (TABLE.c.content_hash != new.content_hash) | TABLE.c.deleted_at.is_not(None)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=[TABLE.c.connection_id, TABLE.c.external_id],
        set_={"data": new.data, "content_hash": new.content_hash, "seen_run": new.seen_run,
              "deleted_at": None,
              "updated_at": case((changed, new.updated_at), else_=TABLE.c.updated_at)}))


def _write_portably(rows: list[dict[str, Any]]) -> None:
    """Update-or-insert one row at a time: correct on any database, only slower.

    Safe without ON CONFLICT because one connection never has two syncs at once.
    """
    for row in rows:
        done = db.session.execute(
            update(TABLE).where(TABLE.c.connection_id == row["connection_id"],
                                TABLE.c.external_id == row["external_id"])
            .values(data=row["data"], seen_run=row["seen_run"], deleted_at=None,
                    content_hash=row["content_hash"],
                    updated_at=case((TABLE.c.content_hash != row["content_hash"], row["updated_at"]),
                                    else_=TABLE.c.updated_at))).rowcount
        if not done:
            db.session.execute(TABLE.insert().values(**row))


def mark_deleted(connection_id: uuid.UUID, external_ids: Sequence[str]) -> int:
    """Soft-delete records the source reported gone; returns how many were live."""
    if not external_ids:
        return 0
    return db.session.execute(update(SyncRecord).where(
        SyncRecord.connection_id == connection_id, SyncRecord.external_id.in_(list(external_ids)),
        SyncRecord.deleted_at.is_(None)).values(deleted_at=utcnow())).rowcount or 0


def mark_unseen_deleted(connection_id: uuid.UUID, run_number: int) -> int:
    """After a full pass: soft-delete what that pass did not see."""
    return db.session.execute(update(SyncRecord).where(
        SyncRecord.connection_id == connection_id, SyncRecord.seen_run != run_number,
        SyncRecord.deleted_at.is_(None)).values(deleted_at=utcnow())).rowcount or 0
