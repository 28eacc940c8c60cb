"""hub/broker.py: after a broker outage, a stale channel fails as a connection error."""
from __future__ import annotations

import pytest
import redis
from kombu import Connection


@pytest.mark.parametrize("transport, error", [("redis", AttributeError),
                                              ("hub.broker:Transport", redis.ConnectionError)])
def test_a_channel_of_a_collected_connection(base_config, transport, error):
    """What Celery's worker does on connection loss: collect the connection, then use a
    channel that belonged to it (to restore or acknowledge messages). kombu's own transport
    raises AttributeError, which stops a worker; the hub's raises a connection error,
    which Celery logs and rides out."""
    conn = Connection(base_config["REDIS_URL"], transport=transport)
    channel = conn.default_channel
    assert channel.client.ping()  # a working channel first
    conn.collect()
    with pytest.raises(error):
        channel._connparams()
