"""Celery entry point: `celery -A workers.celery_app worker|beat|flower`.

The Celery app is the one bound to the Flask app (`hub.extensions.celery_init_app`),
so every task runs in an app context with the hub's settings.
"""
from hub import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
# Task modules register themselves on import; the web process never loads them.
celery_app.conf.include = ["tasks.maintenance"]
app = celery_app
