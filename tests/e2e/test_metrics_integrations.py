"""Webhook and integration metrics from a real worker: deliveries by outcome, calls to the
endpoints by outcome, the opt-in tenant label, and the API's gauge of endpoints the hub
had to disable."""
from __future__ import annotations

import pytest
import requests
from localservices import free_port
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import wait_until
from tests.webhooks.conftest import WORKER_SETTINGS, Receiver, create_endpoint

pytestmark = pytest.mark.e2e


def scrape(url: str, **kw) -> dict[str, list]:
    resp = requests.get(url, timeout=10, **kw)
    assert resp.status_code == 200, resp.text
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            found.setdefault(s.name, []).append(s)
    return found


def value(found: dict[str, list], name: str, **labels) -> float:
    return sum(s.value for s in found.get(name, [])
               if all(s.labels.get(k) == v for k, v in labels.items()))


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
            resp = client.get("/metrics")
            api = {}
            for family in text_string_to_metric_families(resp.get_data(as_text=True)):
                for s in family.samples:
                    api.setdefault(s.name, []).append(s)
        finally:
            app.config["METRICS_CACHE_SECONDS"] = 5.0
        assert value(api, "hub_webhook_endpoints_disabled") == 1
    finally:
        worker.stop()
        receiver.close()
