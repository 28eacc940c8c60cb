"""Storing synced records: batched upserts keyed by (connection, external id), with counts.

Per batch: one SELECT of the stored content hashes (to count created, updated
and unchanged exactly), then the writes. On PostgreSQL that is one
`INSERT ... SELECT FROM jsonb_to_recordset(:rows) ON CONFLICT DO UPDATE` for the
new and changed rows (the whole batch as one parameter: one round trip) and one
`UPDATE ... WHERE external_id = ANY(:ids)` stamping `seen_run` on the unchanged
ones, which lets a full pass find the records the source dropped.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, any_, bindparam, select, text, update
from sqlalchemy.dialects import postgresql

from hub.extensions import db
from hub.integrations.connectors.base import Record
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
            .where(SyncRecord.connection_id == connection_id, _among(ids)))}
        rows, unchanged = [], []
        for record in batch:
            digest = content_hash(record.data)
            before = stored.get(record.external_id)
            if before is None:
                counts["created"] += 1
            elif before[0] != digest or before[1] is not None:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
                unchanged.append(record.external_id)
                continue
            rows.append({"tenant_id": tenant_id, "connection_id": connection_id,
                         "external_id": record.external_id, "data": dict(record.data),
                         "content_hash": digest, "seen_run": run_number, "created_at": now,
                         "updated_at": now, "deleted_at": None})
        if rows:
            _write(rows)
        if unchanged:
            db.session.execute(update(TABLE).where(TABLE.c.connection_id == connection_id,
                                                   _among(unchanged))
                               .values(seen_run=run_number))
    return counts


def _among(ids: list[str]) -> Any:
    """`external_id IN ids` as `= ANY(array)`: one parameter instead of hundreds."""
    return TABLE.c.external_id == any_(bindparam("ids", ids, type_=postgresql.ARRAY(String)))


_PG_UPSERT = text("""
    INSERT INTO sync_records (tenant_id, connection_id, external_id, data, content_hash, seen_run,
                              created_at, updated_at)
    SELECT :tenant_id, :connection_id, r.external_id, r.data::json, r.content_hash, :seen_run,
           :now, :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(external_id text, data jsonb, content_hash text)
    ON CONFLICT (connection_id, external_id) DO UPDATE SET
        data = excluded.data, content_hash = excluded.content_hash, seen_run = excluded.seen_run,
        deleted_at = NULL, updated_at = excluded.updated_at
""")


def _write(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    payload = json.dumps([{"external_id": r["external_id"], "data": r["data"],
                           "content_hash": r["content_hash"]} for r in rows],
                         separators=(",", ":"), default=str)
    db.session.execute(_PG_UPSERT, {"tenant_id": first["tenant_id"],
                                    "connection_id": first["connection_id"],
                                    "seen_run": first["seen_run"], "now": first["updated_at"],
                                    "rows": payload})


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
