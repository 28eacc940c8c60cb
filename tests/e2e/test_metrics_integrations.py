"""Webhook and integration metrics from a real worker: deliveries by outcome, calls to the
endpoints by outcome, the opt-in tenant label, and the API's gauge of endpoints the hub
had to disable."""
from __future__ import annotations

import pytest
from localservices import free_port

from tests.support.metrics import parse, scrape, value
from tests.support.processes import wait_until
from tests.webhooks.conftest import WORKER_SETTINGS, Receiver, create_endpoint

pytestmark = pytest.mark.e2e


def test_webhook_deliveries_and_endpoint_calls_are_counted_per_tenant_when_asked(
        app, client, register, start_worker):
    port = free_port()
    settings = {**WORKER_SETTINGS, "WORKER_METRICS_PORT": port, "METRICS_TENANT_LABELS": "1"}
    receiver = Receiver()
    worker = start_worker("hooks-metrics", settings)
    try:
        owner = register()
        tenant = owner.tenant["id"]
        receiver.script("/gone", 410)
        create_endpoint(owner, receiver.url("/ok"), ["job.succeeded"])
        create_endpoint(owner, receiver.url("/gone"), ["job.succeeded"])
        create_endpoint(owner, receiver.url("/off"), ["job.succeeded"], enabled=False)
        assert owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                                "payload": {"seconds": 0}}).status_code == 202
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        found = wait_until(lambda: (lambda f: f if value(f, "hub_webhook_deliveries_total",
                                                         outcome="disabled") >= 1
                                    and value(f, "hub_webhook_deliveries_total",
                                              outcome="delivered") >= 1 else None)(scrape(metrics_url)),
                           60, "both deliveries to be attempted")
        assert value(found, "hub_webhook_deliveries_total", outcome="delivered", tenant=tenant) == 1
        assert value(found, "hub_webhook_deliveries_total", outcome="disabled", tenant=tenant) == 1
        # The endpoint calls themselves: one 2xx, one 4xx (410) answer.
        assert value(found, "hub_integration_requests_total", integration="webhook", outcome="ok",
                     tenant=tenant) == 1
        assert value(found, "hub_integration_requests_total", integration="webhook",
                     outcome="rejected", tenant=tenant) == 1
        assert value(found, "hub_job_attempts_total", type="demo.sleep", outcome="succeeded",
                     tenant=tenant) == 1
        assert not receiver.requests("/off")

        # The API counts endpoints the hub switched off, not those a person did.
        app.config["METRICS_CACHE_SECONDS"] = 0
        try:
            api = parse(client.get("/metrics").get_data(as_text=True))
        finally:
            app.config["METRICS_CACHE_SECONDS"] = 5.0
        assert value(api, "hub_webhook_endpoints_disabled") == 1
    finally:
        worker.stop()
        receiver.close()
