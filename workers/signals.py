"""Worker process signals."""
from __future__ import annotations

import logging

from celery.signals import worker_init, worker_process_init

from hub.extensions import db

log = logging.getLogger(__name__)


def connect(flask_app) -> None:
    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs) -> None:
        # A forked pool child must not share the parent's database sockets.
        with flask_app.app_context():
            db.engine.dispose(close=False)

    @worker_init.connect(weak=False)
    def _serve_metrics(**_kwargs) -> None:
        # In the worker's main process (not beat or Flower): its /metrics sums the children's.
        port = flask_app.config.get("WORKER_METRICS_PORT")
        if port:
            from hub.metrics import serve_worker_metrics

            serve_worker_metrics(int(port))
            log.info("worker metrics on port %s", port)
