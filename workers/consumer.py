"""The worker's broker consumer: Celery's, surviving one known crash on connection loss.

With Celery 5.7 and kombu 5.7, when Redis goes away while the worker holds an
unacknowledged message, Celery first collects the broken connection (which drops
its transport) and then closes it; closing the channel again tries to put the
unacknowledged message back through the dropped transport and raises
`AttributeError` ('NoneType' object has no attribute 'hostname'). Celery takes
that for an unrecoverable error and the worker exits (seen in the chaos run;
under honcho one exiting process stops the whole hub).

Nothing is lost by going on: the message is still in Redis's unacknowledged set,
where kombu restores it after the visibility timeout, and the ledger re-sends any
job that was dispatched but never started (`JOB_REDISPATCH_SECONDS`). So the
consumer logs it and reconnects as for any other connection error. Installed
through `worker_consumer` in celeryconfig.py.
"""
from __future__ import annotations

import logging

from celery.worker.consumer import Consumer as CeleryConsumer

log = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as error:
            # Raised by the close of the already-collected connection; Celery has set
            # self.connection to None before it, so the reconnect starts clean.
            log.warning("broker connection lost; closing it failed too (%r); reconnecting",
                        error)
