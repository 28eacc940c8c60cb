"""Logging with context: every line names its request, job, tenant and trace.

Text (the default) is for a person at a terminal; `LOG_FORMAT=json` writes one
JSON object per line (python-json-logger) for a log pipeline, with the same
context as fields: `request_id`, `trace_id`, `job_id`, `tenant_id` (null when
a line has none).
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Iterator

from flask import Flask, g, has_request_context
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from hub.telemetry import current_job, job_scope
from hub.web.context import current_request_id

FORMAT = "%(asctime)s %(levelname)s [%(name)s] [req=%(request_id)s job=%(job_id)s] %(message)s"
CONTEXT_FIELDS = ("request_id", "trace_id", "job_id", "tenant_id")
NONE = "-"


@contextmanager
def task_log_context(request_id: str | None, job_id: str | None, tenant_id: str | None = None,
                     job_type: str | None = None) -> Iterator[None]:
    """Tag log lines emitted inside the block with the job they are about."""
    with job_scope(request_id, job_id, tenant_id, job_type):
        yield


def _request_tenant() -> str | None:
    if not has_request_context():
        return None
    principal = getattr(g, "principal", None)
    tenant = getattr(principal, "tenant_id", None)
    return str(tenant) if tenant else None


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class ContextFilter(logging.Filter):
    """Adds `request_id`, `trace_id`, `job_id` and `tenant_id` to every record ("-": none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = current_job()
        found = {
            "request_id": current_request_id() or (job and job.request_id),
            "trace_id": _trace_id(),
            "job_id": job and job.job_id,
            "tenant_id": _request_tenant() or (job and job.tenant_id),
        }
        for name, value in found.items():
            if not getattr(record, name, None):
                setattr(record, name, value or NONE)
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the context."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)
        for name in CONTEXT_FIELDS:
            value = log_data.get(name, getattr(record, name, None))
            log_data[name] = None if value in (None, NONE) else value


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


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT)


def configure_logging(app: Flask) -> None:
    """One stderr handler on the root logger, every handler tagged with context."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        if app.config["LOG_FORMAT"] == "json" or handler.formatter is None:
            handler.setFormatter(make_formatter(app.config["LOG_FORMAT"]))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
            handler.addFilter(QuietPeriodicFilter())
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic announces each of its plugins at INFO on import; not useful to operators.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
