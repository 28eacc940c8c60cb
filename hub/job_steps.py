"""Ledger steps as one statement each on PostgreSQL (the worker's hot path).

A step of a job (claim, progress, finish) is a compare-and-set on its row plus
the event row that records it, and both must land together. On PostgreSQL one
data-modifying CTE does both: `UPDATE jobs ... RETURNING` feeds `INSERT INTO
job_events ... SELECT`, atomically, in a single round trip. A step that has no
other work to commit with it runs that statement in autocommit mode, so it
costs no BEGIN and no COMMIT either: one round trip instead of four or more.
Other databases (SQLite in development) take the ORM path in hub/job_runs.py.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import ColumnElement, String, func, insert, literal, select, update

from hub.envelope import current_request_id
from hub.extensions import db
from hub.models import Job, JobEvent, utcnow
from hub.models.base import UTCDateTime

_EVENT_COLUMNS = ("job_id", "kind", "status", "progress", "message", "attempt", "data",
                  "request_id", "created_at")


def supported() -> bool:
    """True where steps run as single statements (PostgreSQL)."""
    return db.session.get_bind().dialect.name == "postgresql"


def session_idle() -> bool:
    """Nothing of the handler's is open or pending that a step would have to commit."""
    session = db.session()
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def statement(where: tuple[Any, ...], values: dict[str, Any], kind: str,
              message: str | Callable[[Any], ColumnElement] | None = None,
              data: dict[str, Any] | None = None):
    """`UPDATE jobs SET values WHERE where RETURNING *`, plus its `job_events` row.

    The event takes the row's new status, progress, attempt and message (or
    `message`), as `hub.jobs.add_event` does. Selecting from the statement
    gives the updated row, or nothing if `where` matched no row (and then no
    event is written either).
    """
    jobs, events = Job.__table__, JobEvent.__table__
    row = update(jobs).where(*where).values(**values).returning(*jobs.c).cte("job_step")
    if message is None:
        message = row.c.message
    elif isinstance(message, str):
        message = literal(message, String())
    else:
        message = message(row.c)
    event = insert(events).from_select(_EVENT_COLUMNS, select(
        row.c.id, literal(kind, String()), row.c.status, row.c.progress, message, row.c.attempts,
        literal(data, events.c.data.type),
        func.coalesce(literal(current_request_id(), String()), row.c.request_id),
        literal(utcnow(), UTCDateTime()))).cte("job_step_event")
    return select(row).add_cte(event)


def _as_job(row) -> Job | None:
    # A detached copy of the row as written: enough for socket payloads and
    # event data, and never flushed (it is not in any session).
    return None if row is None else Job(**dict(row))


def run_alone(stmt) -> Job | None:
    """Run a step on its own, committed by the statement itself (autocommit)."""
    with db.engine.connect() as conn:
        row = conn.execution_options(isolation_level="AUTOCOMMIT").execute(stmt).mappings().first()
    return _as_job(row)


def run_in_session(stmt) -> Job | None:
    """Run a step inside the session's transaction; the caller commits."""
    return _as_job(db.session.execute(stmt).mappings().first())


def read_alone(stmt) -> Any:
    """One read in autocommit mode: the current row, no transaction to open or close."""
    with db.engine.connect() as conn:
        return conn.execution_options(isolation_level="AUTOCOMMIT").execute(stmt).first()
