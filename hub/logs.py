"""Logging with context: every line names its request id (and job id in tasks)."""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from flask import Flask

from hub.web.context import current_request_id

FORMAT = "%(asctime)s %(levelname)s [%(name)s] [req=%(request_id)s job=%(job_id)s] %(message)s"

# Set by the worker's base task around each run; outside a task it is empty.
_task_context: ContextVar[dict[str, str] | None] = ContextVar("hub_task_context", default=None)


@contextmanager
def task_log_context(request_id: str | None, job_id: str | None) -> Iterator[None]:
    """Tag log lines emitted inside the block with a request id and job id."""
    token = _task_context.set({"request_id": request_id or "-", "job_id": job_id or "-"})
    try:
        yield
    finally:
        _task_context.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `job_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        task = _task_context.get() or {}
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or task.get("request_id") or "-"
        if not getattr(record, "job_id", None):
            record.job_id = task.get("job_id") or "-"
        return True


# Periodic housekeeping that runs every few seconds: Celery's INFO lines about
# it (sent / received / succeeded) would drown everything else. Warnings and
# errors about it still show.
QUIET_TASKS = ("hub.maintenance.relay_jobs",)
_CELERY_CHATTER = ("celery.beat", "celery.app.trace", "celery.worker.strategy")


class QuietPeriodicFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or record.name not in _CELERY_CHATTER:
            return True
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to drop
            return True
        return not any(task in text for task in QUIET_TASKS)


def configure_logging(app: Flask) -> None:
    """One stderr handler on the root logger, every handler tagged with context."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
            handler.addFilter(QuietPeriodicFilter())
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic announces each of its plugins at INFO on import; not useful to operators.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
