"""Worker process signals."""
from __future__ import annotations

from celery.signals import worker_process_init

from hub.extensions import db


def connect(flask_app) -> None:
    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs) -> None:
        # A forked pool child must not share the parent's database sockets.
        with flask_app.app_context():
            db.engine.dispose(close=False)
