"""One trace from the API into a real worker, and JSON logs that name the same trace.

The API (gunicorn), a worker and beat run as the Procfile starts them, with the
standard OTEL_* variables pointing at an OTLP/HTTP collector this test serves
(protobuf decoded with opentelemetry-proto), and LOG_FORMAT=json.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.helpers import PASSWORD
from tests.support.otlp_collector import Collector
from tests.support.processes import WebHub, wait_until
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.e2e
CLIENT = 3  # opentelemetry-proto's Span.SpanKind.SPAN_KIND_CLIENT


@pytest.fixture(scope="module")
def traced(app, base_config, process_logs, module_workers):
    collector = Collector()
    settings = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200",
                "LOG_FORMAT": "json", "WEBHOOK_RETRY_SCHEDULE": "[1, 1, 1, 1, 1, 1, 1]"}
    web = WebHub({**base_config, **settings}, process_logs)
    worker = module_workers.worker("traced", settings)
    beat = module_workers.beat(settings)
    try:
        yield collector, web, worker
    finally:
        beat.stop()
        worker.stop()
        web.stop()
        collector.close()


def _account(url: str) -> dict[str, str]:
    user = requests.post(url + "/api/v1/auth/register", timeout=10, json={
        "tenant_name": "Traced", "name": "T", "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD}).json()["data"]
    return {"Authorization": f"Bearer {user['access_token']}", "tenant_id": user["user"]["tenant_id"]}


def _wait_succeeded(url: str, headers: dict[str, str], job_id: str) -> None:
    wait_until(lambda: requests.get(f"{url}/api/v1/jobs/{job_id}", headers=headers, timeout=5)
               .json()["data"]["status"] == "succeeded", 60, f"job {job_id} to succeed")


def test_one_trace_runs_from_the_request_through_the_worker_to_the_webhook_call(traced):
    collector, web, _worker = traced
    account = _account(web.url)
    headers = {"Authorization": account["Authorization"]}
    receiver = Receiver()
    try:
        resp = requests.post(web.url + "/api/v1/webhook-endpoints", headers=headers, timeout=10, json={
            "url": receiver.url("/hook"), "events": ["job.succeeded"]})
        assert resp.status_code == 201, resp.text
        resp = requests.post(web.url + "/api/v1/jobs", timeout=10,
                             headers={**headers, "X-Request-ID": "trace-me-1"},
                             json={"type": "demo.sleep", "payload": {"seconds": 0}})
        assert resp.status_code == 202
        job_id = resp.json()["data"]["id"]
        _wait_succeeded(web.url, headers, job_id)
        (hook,) = wait_until(lambda: receiver.requests("/hook"), 60, "the job.succeeded webhook")

        trace_id = wait_until(lambda: collector.trace_of(**{"hub.request_id": "trace-me-1"}), 30,
                              "the API's span with the request id")

        def complete() -> list[dict[str, Any]] | None:
            spans = collector.in_trace(trace_id)
            names = {s["name"] for s in spans}
            wanted = {"job.dispatch demo.sleep", "run/demo.sleep", "job.attempt demo.sleep",
                      "job.dispatch webhook.deliver", "run/webhook.deliver",
                      "job.attempt webhook.deliver", "webhook POST"}
            return spans if wanted <= names else None

        spans = wait_until(complete, 30, "every span of the job's trace")
        by_name = defaultdict(list)
        for span in spans:
            by_name[span["name"]].append(span)
        services = {s["service"] for s in spans}
        assert {"hub-api", "hub-worker"} <= services
        # The HTTP span of the request, with its request id; the ledger insert under it.
        (http,) = [s for s in spans if s["parent_id"] == ""]
        assert http["service"] == "hub-api" and http["name"].startswith("POST")
        assert http["attributes"]["hub.request_id"] == "trace-me-1"
        # (One statement writes the job, its event and the audit row: it starts with WITH.)
        assert any(s["service"] == "hub-api" and "INSERT INTO jobs" in str(
            s["attributes"].get("db.statement") or s["attributes"].get("db.query.text") or "")
            for s in spans), sorted({(s["name"], tuple(s["attributes"])) for s in spans})[:20]
        # The worker's task span hangs off the dispatch, the attempt off the task.
        (attempt,) = by_name["job.attempt demo.sleep"]
        (run,) = by_name["run/demo.sleep"]
        (dispatch,) = by_name["job.dispatch demo.sleep"]
        assert attempt["attributes"]["hub.job_id"] == job_id
        assert attempt["attributes"]["hub.request_id"] == "trace-me-1"
        assert attempt["parent_id"] == run["span_id"] and run["parent_id"] == dispatch["span_id"]
        # The webhook's endpoint call, with the W3C header of the same trace on the wire.
        (call,) = by_name["webhook POST"]
        assert call["attributes"]["hub.outcome"] == "ok"
        assert hook.headers["traceparent"].split("-")[1] == trace_id
        # The endpoint's URL is the tenant's secret: the client span keeps its origin only.
        urls = [str(v) for s in spans for k, v in s["attributes"].items() if k in ("url.full", "http.url")]
        assert urls and not [u for u in urls if "/hook" in u], urls
    finally:
        receiver.close()


def test_a_job_the_relay_sends_later_still_joins_its_requests_trace(traced):
    collector, web, _worker = traced
    account = _account(web.url)
    headers = {"Authorization": account["Authorization"]}
    run_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    resp = requests.post(web.url + "/api/v1/jobs", timeout=10,
                         headers={**headers, "X-Request-ID": "trace-me-later"},
                         json={"type": "demo.sleep", "payload": {"seconds": 0}, "run_at": run_at})
    assert resp.status_code == 202
    job_id = resp.json()["data"]["id"]
    _wait_succeeded(web.url, headers, job_id)
    trace_id = wait_until(lambda: collector.trace_of(**{"hub.request_id": "trace-me-later"}), 30,
                          "the API's span")
    attempt = wait_until(lambda: [s for s in collector.in_trace(trace_id)
                                  if s["name"] == "job.attempt demo.sleep"], 30,
                         "the attempt's span in the request's trace")
    assert attempt[0]["attributes"]["hub.job_id"] == job_id
    # Beat's relay ticks themselves are not traced, nor are calls made outside any request or
    # task (Celery's Redis polling, the realtime process's checks): every trace starts at a
    # request, a task run or a job's dispatch.
    assert not [s for s in collector.spans if "hub.maintenance" in s["name"]]
    roots = {(s["service"], s["name"], s["kind"]) for s in collector.spans if s["parent_id"] == ""}
    assert roots and not [r for r in roots if r[2] == CLIENT], roots


def test_json_logs_name_the_request_trace_job_and_tenant(traced):
    collector, web, worker = traced
    account = _account(web.url)
    headers = {"Authorization": account["Authorization"]}
    resp = requests.post(web.url + "/api/v1/jobs", timeout=10,
                         headers={**headers, "X-Request-ID": "log-me-1"},
                         json={"type": "demo.sleep", "payload": {"seconds": 0}})
    job_id = resp.json()["data"]["id"]
    _wait_succeeded(web.url, headers, job_id)
    trace_id = wait_until(lambda: collector.trace_of(**{"hub.request_id": "log-me-1"}), 30, "the trace")

    def lines(proc) -> list[dict[str, Any]]:
        text = proc.log_path.read_text(errors="replace").splitlines()
        # Only the hub's own lines: Celery prints its start-up banner with print().
        return [json.loads(line) for line in text if line.startswith("{")]

    records = wait_until(lambda: [r for r in lines(worker) if r.get("job_id") == job_id
                                  and "succeeded" in r["message"]], 30, "the worker's line")
    record = records[0]
    assert record["request_id"] == "log-me-1"
    assert record["tenant_id"] == account["tenant_id"]
    assert record["trace_id"] == trace_id
    assert record["level"] == "INFO" and record["time"].endswith("Z") and record["logger"]
    # Every line the worker logged is JSON, and so is gunicorn's own start-up line.
    worker_text = [line for line in worker.log_path.read_text().splitlines()
                   if line and not line.startswith("{")]
    assert not [line for line in worker_text if " INFO " in line or " WARNING " in line], worker_text
    assert any("Booting worker" in r["message"] for r in lines(web.gunicorn))

