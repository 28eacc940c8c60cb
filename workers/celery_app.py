"""Celery entry point: `celery -A workers.celery_app worker|beat|flower`.

The Celery app is the one bound to the Flask app (`hub.extensions.celery_init_app`),
so every task runs in an app context with the hub's settings. Task modules are
imported here, never by the web process.
"""
from hub import create_app
from workers import periodic, signals
from workers.base import HubTask

TASK_MODULES = ("tasks.jobs", "tasks.maintenance", "tasks.webhooks", "tasks.files", "tasks.payments",
                "tasks.sync")

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
HubTask.flask_app = flask_app
signals.connect(flask_app)

for _module in TASK_MODULES:
    __import__(_module)

celery_app.conf.beat_schedule = periodic.beat_schedule(flask_app)
celery_app.conf.beat_schedule_filename = flask_app.config["BEAT_SCHEDULE_FILE"]
app = celery_app
