"""Celery entry point: `celery -A workers.celery_app worker|beat|flower`.

The Celery app is the one bound to the Flask app (`hub.extensions.celery_init_app`),
so every task runs in an app context with the hub's settings. Task modules are
imported here, never by the web process.
"""
import os
import pkgutil
import tempfile
from pathlib import Path

# Worker metrics (WORKER_METRICS_PORT) are summed over the prefork children through
# prometheus-client's multiprocess files: the directory must be set before the
# library is first imported (by create_app), so that every child writes there.
if os.environ.get("WORKER_METRICS_PORT"):
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-worker-metrics-")
    # Celery's command line has imported the library already (through its Flower
    # hooks), which chose in-process values: choose again, before any metric exists.
    from prometheus_client import values as _metric_values

    _metric_values.ValueClass = _metric_values.get_value_class()

from hub import create_app, tracing  # noqa: E402
from workers import periodic, signals  # noqa: E402
from workers.base import HubTask  # noqa: E402

# Every module of the tasks package defines tasks: found by where they are, not
# listed, and imported by name the way Celery's `include` would (tasks sit above
# workers, so nothing here imports them statically).
_TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
TASK_MODULES = tuple(f"tasks.{m.name}" for m in pkgutil.iter_modules([str(_TASKS_DIR)]))

tracing.name_service("hub-worker")
flask_app = create_app()
tracing.instrument_celery()
celery_app = flask_app.extensions["celery"]
HubTask.flask_app = flask_app
signals.connect(flask_app)

for _module in TASK_MODULES:
    __import__(_module)
periodic.quiet_in_flower(celery_app)

celery_app.conf.beat_schedule = periodic.beat_schedule(flask_app)
celery_app.conf.beat_schedule_filename = flask_app.config["BEAT_SCHEDULE_FILE"]
app = celery_app
