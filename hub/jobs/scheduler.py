"""The scheduler: which waiting jobs go to the broker, in what order, and when.

Three things hold a waiting job back, all kept in PostgreSQL so every API
process, worker and beat agrees and a restart forgets nothing:

- its tenant's slots: at most the tier's `concurrency` jobs in flight
  (dispatched and not finished);
- the flow-control keys its attempts hold (`smtp`, `stripe:<account>`,
  `webhook-endpoint:<id>`, `connection:<id>`), limited by FLOW_LIMITS to a
  number in flight and/or a rate of attempt starts;
- its due time (`run_at`, a parked retry).

A decision locks what it counts (tenants, then keys, each in one order), so
two deciders never deadlock and never both take the last slot. Jobs are picked per tenant
in turns: every tenant with a free slot gets one job per round, its highest
priority first, so no tenant's backlog can fill a batch and a high priority
never lets a tenant jump another. A round starts with the quiet tenants
(whose waiting jobs all fit their free slots), then whoever had the contended
key least lately (`flow_turns`); among equals the longest waiting. What fits
(slots, keys, rates) is `hub/jobs/admission.py`'s to say.
"""
from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer, String, Uuid

from hub.extensions import db
from hub.jobs.admission import (
    NEVER,
    TENANT,
    Admission,
    saturated_keys,
    tier_limits_of,
    waiting_message,
)
from hub.models import utcnow

# --- picking --------------------------------------------------------------------------

def _waiting(alias: str) -> str:  # WAITING_SQL on a named table (the partial index still matches)
    return f"{alias}.dispatched_at IS NULL AND {alias}.status IN ('queued', 'retrying')"


def _in_flight(alias: str) -> str:
    return f"{alias}.dispatched_at IS NOT NULL AND {alias}.status IN ('queued', 'running', 'retrying')"


_DUE = ("((jobs.next_attempt_at IS NULL AND (jobs.created_at <= :fresh OR jobs.waiting_for IS NOT NULL)) "
        "OR jobs.next_attempt_at <= :now)")
_SCOPE = "(jobs.tenant_id = ANY(:tenants) OR jobs.flow_keys && CAST(:keys AS varchar[]))"


def _waiting_tenants_sql(scoped: bool) -> Any:
    return text(
        "SELECT jobs.tenant_id, min(coalesce(jobs.next_attempt_at, jobs.created_at)) AS oldest, "
        "count(*) AS waiting, "
        f"(SELECT count(*) FROM jobs AS f WHERE f.tenant_id = jobs.tenant_id AND {_in_flight('f')}) AS busy, "
        "(SELECT tier FROM tenants WHERE tenants.id = jobs.tenant_id) AS tier, "
        "(SELECT max(served_at) FROM flow_turns WHERE flow_turns.tenant_id = jobs.tenant_id) AS last_turn "
        f"FROM jobs WHERE {_waiting('jobs')} "
        f"AND {_DUE} {'AND ' + _SCOPE if scoped else ''} GROUP BY jobs.tenant_id"
    ).bindparams(*([bindparam("tenants", type_=ARRAY(Uuid())), bindparam("keys", type_=ARRAY(String()))]
                   if scoped else []))


_WAITING_TENANTS = {True: _waiting_tenants_sql(True), False: _waiting_tenants_sql(False)}

_CANDIDATES = text(
    "SELECT j.id, j.tenant_id, j.queue, j.type, j.request_id, j.traceparent, j.flow_keys, "
    "j.waiting_for, j.status "
    "FROM unnest(CAST(:tenants AS uuid[]), CAST(:free AS int[])) AS f(tenant_id, free) "
    "CROSS JOIN LATERAL (SELECT jobs.id, jobs.tenant_id, jobs.queue, jobs.type, jobs.request_id, "
    "jobs.traceparent, jobs.flow_keys, jobs.waiting_for, jobs.status FROM jobs "
    "WHERE jobs.tenant_id = f.tenant_id "
    f"AND {_waiting('jobs')} "
    f"AND {_DUE} AND NOT (jobs.flow_keys && CAST(:saturated AS varchar[])) "
    "ORDER BY jobs.priority DESC, coalesce(jobs.next_attempt_at, jobs.created_at) "
    "LIMIT f.free FOR UPDATE SKIP LOCKED) AS j"
).bindparams(bindparam("tenants", type_=ARRAY(Uuid())), bindparam("free", type_=ARRAY(Integer())),
             bindparam("saturated", type_=ARRAY(String())))


@dataclass(frozen=True)
class Pick:
    """A waiting job the scheduler chose, with the countdown its rate keys ask for."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    queue: str
    type: str
    request_id: str | None
    traceparent: str | None
    countdown: float
    was_waiting_for: str | None


def pick(now: datetime, batch: int, *, fresh: datetime, tenant_ids: list[uuid.UUID] | None = None,
         keys: list[str] | None = None) -> tuple[list[Pick], dict[uuid.UUID, tuple[str, str]]]:
    """Choose up to `batch` due waiting jobs, tenants in turns; mark them dispatched.

    `tenant_ids`/`keys` narrow the choice to jobs of those tenants or holding
    those keys (a finished job's hand-on); None looks at every tenant (the
    relay). Jobs created after `fresh` are left to their creator's own
    dispatch unless a limit already held them back. Returns the picks and the
    jobs a key held back, with that key and the message to show. The caller
    commits, then sends.
    """
    scoped = tenant_ids is not None or keys is not None
    params: dict[str, Any] = {"now": now, "fresh": fresh}
    if scoped:
        params.update(tenants=list(tenant_ids or []), keys=list(keys or []))
    waiting = db.session.execute(_WAITING_TENANTS[scoped], params).all()
    # A tenant whose few waiting jobs all fit its free slots (a quiet one, not a
    # backlog) first; then the fewest slots in use for the tier (the tier's weight);
    # then whoever had a limited key least lately; then the longest waiting.
    open_tenants = []
    for tenant_id, oldest, count, busy, tier, last_turn in waiting:
        limit = int(tier_limits_of(tier)["concurrency"])
        if busy < limit:
            open_tenants.append((count > limit - busy, busy / limit, last_turn or NEVER, oldest,
                                 tenant_id))
    open_tenants.sort()
    order = [t for *_, t in open_tenants[:batch]]
    backlogged = {t for flooded, *_, t in open_tenants if flooded}
    if not order:
        return [], {}
    admission = Admission.start(now)
    admission.load_tenants(order)
    order = [t for t in order if admission.tenant_free.get(t, 0) > 0]
    if not order:
        return [], {}
    rows = db.session.execute(_CANDIDATES, {
        "tenants": order, "free": [min(admission.tenant_free[t], batch) for t in order],
        "saturated": saturated_keys(now), "now": now, "fresh": fresh}).all()
    admission.load_keys({k for row in rows for k in row.flow_keys})
    queues: dict[uuid.UUID, deque] = {t: deque() for t in order}
    for row in rows:
        queues[row.tenant_id].append(row)
    picks: list[Pick] = []
    held: dict[uuid.UUID, tuple[str, str]] = {}
    rank = {t: n for n, t in enumerate(order)}
    while len(picks) < batch and any(queues.values()):
        # Each round, quiet tenants first, then whoever had the contended key least lately.
        order.sort(key=lambda t: (t in backlogged, admission.last_turn(t, queues[t][0].flow_keys)
                                  if queues[t] else NEVER, rank[t]))
        for tenant_id in order:
            queue = queues[tenant_id]
            while queue:
                row = queue.popleft()
                ok, countdown, why = admission.admit(tenant_id, row.flow_keys)
                if ok:
                    picks.append(Pick(row.id, row.tenant_id, row.queue, row.type, row.request_id,
                                      row.traceparent, countdown, row.waiting_for))
                    break
                if why == TENANT:
                    queue.clear()
                elif row.waiting_for != why:
                    held[row.id] = (why, waiting_message(why))
            if len(picks) >= batch:
                break
    admission.save()
    mark_dispatched(picks, now)
    return picks, held


_MARK = text(
    "UPDATE jobs SET dispatched_at = :now, waiting_for = NULL, version = version + 1, "
    "message = CASE WHEN waiting_for IS NULL THEN message WHEN status = 'queued' THEN 'queued' "
    "ELSE 'retrying' END WHERE id = ANY(:ids)").bindparams(bindparam("ids", type_=ARRAY(Uuid())))


def mark_dispatched(picks: list[Pick], now: datetime) -> None:
    if picks:
        db.session.execute(_MARK, {"now": now, "ids": [p.id for p in picks]})


_HOLD = text(
    "UPDATE jobs SET waiting_for = :why, message = :message, version = version + 1, updated_at = :now "
    "WHERE id = :id AND dispatched_at IS NULL AND waiting_for IS DISTINCT FROM :why RETURNING jobs.*")


def hold(job_ids_why: dict[uuid.UUID, tuple[str, str]], now: datetime) -> list[Any]:
    """Say why these jobs wait (only where it changed); the rows as written, for job.updated."""
    rows = []
    for job_id, (why, message) in job_ids_why.items():
        row = db.session.execute(_HOLD, {"id": job_id, "why": why, "message": message,
                                         "now": now}).mappings().first()
        if row is not None:
            rows.append(SimpleNamespace(**row))
    return rows


_ANYTHING_WAITING = text(
    f"SELECT EXISTS (SELECT 1 FROM jobs WHERE {_waiting('jobs')} AND jobs.tenant_id = ANY(:tenants) "
    "AND (jobs.next_attempt_at IS NULL OR jobs.next_attempt_at <= :now)) "
    f"OR EXISTS (SELECT 1 FROM jobs WHERE {_waiting('jobs')} AND jobs.flow_keys && CAST(:keys AS varchar[]))"
).bindparams(bindparam("tenants", type_=ARRAY(Uuid())), bindparam("keys", type_=ARRAY(String())))


def anything_waiting(tenant_ids: list[uuid.UUID], keys: list[str]) -> bool:
    """Whether a due job of these tenants, or one holding these keys, waits in the
    outbox: one read in autocommit mode, the usual answer being no."""
    with db.engine.connect() as conn:
        return bool(conn.execution_options(isolation_level="AUTOCOMMIT").scalar(
            _ANYTHING_WAITING, {"tenants": tenant_ids, "keys": keys, "now": utcnow()}))
