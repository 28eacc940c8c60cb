"""kombu's Redis transport, made to fail the way callers expect after a broker outage.

With Celery 5.7 and kombu 5.7, when Redis goes away the worker collects its
broken connection, which detaches the transport from its channels. A channel
used after that (closing it puts back unacknowledged messages; a task that
finishes during the reconnect acknowledges its message) then builds its Redis
client from the detached transport and raises `AttributeError` ('NoneType'
object has no attribute 'hostname'). Celery handles connection errors there
(ignored, or logged as a failed acknowledgement), but takes an AttributeError
for an unrecoverable error and the worker exits: seen in the chaos run, where
under honcho one exiting process stops the whole hub.

Here that case raises `redis.ConnectionError` instead, which is what it is.
Nothing is lost: an unacknowledged message stays in Redis's unacked set and
comes back after the visibility timeout, the ledger re-sends any job that was
dispatched but never started (`JOB_REDISPATCH_SECONDS`), and a job that already
finished ignores a second delivery (its claim no longer matches). Installed as
`broker_transport` in celeryconfig.py; the broker URL is still `REDIS_URL`.
"""
from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("this channel's broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
