"""GET /metrics (Prometheus text, parsed with prometheus-client): HTTP counts by route
template, the ledger's gauges, and who may read it."""
from __future__ import annotations

import uuid

import pytest

from hub.config import ConfigError, check_config, load_config
from tests.support.helpers import PRODUCTION_SETTINGS, assert_error
from tests.support.metrics import parse, value


def samples(client, **kw) -> dict[str, list]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/plain")
    return parse(resp.get_data(as_text=True))


@pytest.fixture
def fresh_gauges(app):
    app.config["METRICS_CACHE_SECONDS"] = 0
    yield
    app.config["METRICS_CACHE_SECONDS"] = 5.0


def test_http_requests_are_counted_by_route_template_never_by_raw_path(client, register):
    owner = register()
    before = value(samples(client), "hub_http_requests_total",
                   route="/api/v1/jobs/<uuid:job_id>", status="404")
    missing = uuid.uuid4()
    for _ in range(3):
        assert owner.get(f"/api/v1/jobs/{missing}").status_code == 404
    found = samples(client)
    assert value(found, "hub_http_requests_total", method="GET",
                 route="/api/v1/jobs/<uuid:job_id>", status="404") == before + 3
    assert not any(str(missing) in s.labels.get("route", "") for s in found["hub_http_requests_total"])
    assert value(found, "hub_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/jobs/<uuid:job_id>") >= 3


def test_the_ledger_gauges_show_jobs_in_flight(client, register, fresh_gauges):
    owner = register()
    for _ in range(2):
        resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 1}})
        assert resp.status_code == 202
    found = samples(client)
    assert value(found, "hub_jobs", status="queued", type="demo.sleep") == 2
    assert value(found, "hub_jobs", status="queued", queue="default") == 2
    [oldest] = [s for s in found["hub_oldest_queued_job_age_seconds"] if s.labels["queue"] == "default"]
    assert 0 <= oldest.value < 60
    assert "hub_outbox_pending" in found and "hub_socket_connections" in found


def test_with_a_token_only_its_bearer_may_scrape(app, client):
    app.config["METRICS_TOKEN"] = "scrape-" + "t" * 30
    try:
        assert_error(client.get("/metrics"), 401, "UNAUTHORIZED")
        assert_error(client.get("/metrics", headers={"Authorization": "Bearer nope"}), 401,
                     "UNAUTHORIZED")
        assert samples(client, headers={"Authorization": f"Bearer {app.config['METRICS_TOKEN']}"})
    finally:
        app.config["METRICS_TOKEN"] = None


def test_production_needs_a_metrics_token_or_says_metrics_are_private():
    good = {k: v for k, v in PRODUCTION_SETTINGS.items() if k != "METRICS_TOKEN"}
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        check_config(load_config(environ=good))
    check_config(load_config(environ={**good, "METRICS_TOKEN": "m" * 32}))
    check_config(load_config(environ={**good, "METRICS_PUBLIC": "1"}))
