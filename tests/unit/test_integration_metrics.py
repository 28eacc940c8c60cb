"""hub_integration_requests_total{integration,outcome}: each call to the outside world is
counted by how it ended, against real peers on loopback; the tenant label is opt-in."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from hub import telemetry
from hub.integrations import http as outbound
from tests.webhooks.conftest import Receiver

COUNTER = "hub_integration_requests_total"


def count(**labels: str) -> float:
    return REGISTRY.get_sample_value(COUNTER, labels) or 0.0


@pytest.fixture
def peer():
    server = Receiver()
    yield server
    server.close()


def test_outbound_calls_are_counted_by_how_they_ended(peer):
    peer.script("/ok", 200)
    peer.script("/gone", 404)
    peer.script("/busy", 503)
    before = {o: count(integration="webhook", outcome=o) for o in telemetry.OUTCOMES}
    for path in ("/ok", "/gone", "/busy"):
        outbound.request("POST", peer.url(path), body=b"{}", allow_private=True, integration="webhook")
    with pytest.raises(outbound.OutboundRefused):  # cloud metadata: never called
        outbound.request("GET", "http://169.254.169.254/latest/", integration="webhook")
    with pytest.raises(outbound.OutboundError):   # nothing listens there
        outbound.request("GET", "http://127.0.0.1:9/", allow_private=True, timeout=2,
                         integration="webhook")
    after = {o: count(integration="webhook", outcome=o) for o in telemetry.OUTCOMES}
    assert {o: after[o] - before[o] for o in telemetry.OUTCOMES} == {
        "ok": 1, "rejected": 1, "error": 2, "refused": 1}
    assert REGISTRY.get_sample_value("hub_integration_request_duration_seconds_count",
                                     {"integration": "webhook"}) >= 5


def test_a_tenant_label_only_when_asked_for():
    try:
        telemetry.use_tenant_labels(True)
        with telemetry.job_scope("req-1", "job-1", "tenant-a", "demo.sleep"):
            with telemetry.integration_call("s3", "put"):
                pass
        assert REGISTRY.get_sample_value(COUNTER, {"integration": "s3", "outcome": "ok",
                                                   "tenant": "tenant-a"}) == 1
    finally:
        telemetry.use_tenant_labels(False)
    with telemetry.job_scope("req-2", "job-2", "tenant-b", "demo.sleep"):
        with telemetry.integration_call("s3", "put"):
            pass
    # Back off: no tenant label on any series.
    assert REGISTRY.get_sample_value(COUNTER, {"integration": "s3", "outcome": "ok"}) == 1
    assert not any("tenant" in s.labels for m in REGISTRY.collect() if m.name == COUNTER[:-6]
                   for s in m.samples)
