"""Ledger steps as one statement each (the worker's hot path).

A step of a job (claim, progress, finish) is a compare-and-set on its row plus
the event row that records it, and both must land together. On PostgreSQL one
data-modifying CTE does both: `UPDATE jobs ... RETURNING` feeds `INSERT INTO
job_events ... SELECT`, atomically, in a single round trip. A step that has no
other work to commit with it runs that statement in autocommit mode, so it
costs no BEGIN and no COMMIT either: one round trip instead of four or more.
The statements are built once per shape and take every value as a bound
parameter (building a CTE over the jobs table cost more CPU than running it).
"""
from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, func, insert, null, or_, select, update

from hub.extensions import db
from hub.models import Job, JobEvent, utcnow
from hub.web.context import current_request_id

_EVENT_COLUMNS = ("job_id", "kind", "status", "progress", "message", "attempt", "data",
                  "request_id", "created_at")
CLAIM, OWNED = "claim", "owned"
# The event's text: the row's new message, the step's own text, or the claim's.
ROW_MESSAGE, STEP_MESSAGE, CLAIM_MESSAGE = "row", "step", "claim"


def session_idle() -> bool:
    """Nothing of the handler's is open or pending that a step would have to commit."""
    session = db.session()
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


@functools.lru_cache(maxsize=64)
def _statement(where: str, keys: tuple[str, ...], nulls: tuple[str, ...], message: str,
               has_data: bool) -> Select:
    """The step's statement for one shape: which rows (`claim`: a due queued or retrying
    job; `owned`: the running attempt holding the lease), which columns it sets
    (each from the bound parameter `v_<column>`, or SQL NULL for `nulls`: a
    bound None would be stored as JSON 'null'), and where the event's text
    and data come from."""
    jobs, events = Job.__table__, JobEvent.__table__
    c = jobs.c
    if where == CLAIM:
        # Only a job that was sent (`dispatched_at` set): a message left over for a
        # job that is back in the outbox (cancelled and retried, a publish that
        # failed after reaching Redis) would otherwise run it outside every slot.
        condition = and_(c.id == bindparam("w_id", type_=c.id.type),
                         c.status.in_(("queued", "retrying")),
                         c.dispatched_at.is_not(None),
                         or_(c.next_attempt_at.is_(None),
                             c.next_attempt_at <= bindparam("w_due", type_=c.next_attempt_at.type)))
        extra = {"attempts": c.attempts + 1,
                 "started_at": func.coalesce(c.started_at,
                                             bindparam("v_updated_at", type_=c.started_at.type))}
    else:
        condition = and_(c.id == bindparam("w_id", type_=c.id.type),
                         c.lease_token == bindparam("w_token", type_=c.lease_token.type),
                         c.status == "running")
        extra = {}
    values: dict[str, Any] = {key: bindparam(f"v_{key}", type_=c[key].type) for key in keys}
    values.update(dict.fromkeys(nulls, null()))
    row = update(jobs).where(condition).values(**values, **extra).returning(*jobs.c).cte("job_step")
    text = {ROW_MESSAGE: row.c.message,
            STEP_MESSAGE: bindparam("e_message", type_=String()),
            CLAIM_MESSAGE: func.concat("attempt ", row.c.attempts, " of ", row.c.max_attempts,
                                       " started")}[message]
    event = insert(events).from_select(_EVENT_COLUMNS, select(
        row.c.id, bindparam("e_kind", type_=String()), row.c.status, row.c.progress, text,
        row.c.attempts, bindparam("e_data", type_=events.c.data.type) if has_data else null(),
        func.coalesce(bindparam("e_request_id", type_=String()), row.c.request_id),
        bindparam("e_at", type_=events.c.created_at.type))).cte("job_step_event")
    return select(row).add_cte(event)


def step(where: str, where_params: dict[str, Any], values: dict[str, Any], kind: str,
         message: str | None = None, data: dict[str, Any] | None = None, *,
         claim_message: bool = False, alone: bool = False) -> tuple[Job | None, bool]:
    """Run one step; the row as written (None if `where` no longer matches) and
    whether it is committed already (`alone` and nothing else to commit)."""
    shape = CLAIM_MESSAGE if claim_message else (ROW_MESSAGE if message is None else STEP_MESSAGE)
    stmt = _statement(where, tuple(sorted(k for k, v in values.items() if v is not None)),
                      tuple(sorted(k for k, v in values.items() if v is None)), shape, data is not None)
    params = {**where_params, **{f"v_{k}": v for k, v in values.items() if v is not None},
              "e_kind": kind, "e_message": message, "e_data": data,
              "e_request_id": current_request_id(), "e_at": utcnow()}
    if alone and session_idle():
        with db.engine.connect() as conn:
            row = conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                stmt, params).mappings().first()
        return _as_job(row), True
    return _as_job(db.session.execute(stmt, params).mappings().first()), False


def _as_job(row) -> Job | None:
    # The row as written, read by attribute like a Job (socket payloads, event
    # data, a retry's dispatch); a plain namespace, as nothing may flush it.
    return None if row is None else SimpleNamespace(**row)  # type: ignore[return-value]


_LEASE = select(Job.__table__.c.status, Job.__table__.c.lease_token).where(
    Job.__table__.c.id == bindparam("w_id", type_=Job.__table__.c.id.type))


def read_lease(job_id: Any) -> Any:
    """The job's status and lease token as committed now: one read in autocommit mode,
    no transaction to open or close (a Core statement built once, compiled once)."""
    with db.engine.connect() as conn:
        return conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            _LEASE, {"w_id": job_id}).first()
