"""The monitoring profile: Prometheus scrapes what the hub serves, and the Grafana dashboard
asks only for metrics the hub exports (a renamed metric breaks this, not a dark panel)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import compose_check  # noqa: E402

DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "integration-hub.json"
# Every metric the hub exports, from the modules that declare them.
EXPORTED = set(re.findall(r'"(hub_[a-z_]+)"', "".join(
    (ROOT / p).read_text() for p in ("hub/metrics.py", "hub/telemetry.py"))))


def _series(name: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", name)


def test_every_dashboard_query_names_a_metric_the_hub_exports():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = {_series(name) for expr in exprs for name in re.findall(r"\bhub_[a-z_]+", expr)}
    exported = {name.removesuffix("_total") for name in EXPORTED} | EXPORTED
    assert used - exported == set()
    # What the dashboard is for: queues, jobs, HTTP, webhooks.
    for needed in ("hub_oldest_queued_job_age_seconds", "hub_job_attempts_total", "hub_job_duration_seconds",
                   "hub_http_request_duration_seconds", "hub_webhook_deliveries_total"):
        assert needed in used


def test_prometheus_scrapes_the_api_the_worker_on_its_metrics_port_and_flower():
    compose = compose_check.load()
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    config = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    port = services["worker"]["environment"]["WORKER_METRICS_PORT"]
    assert targets == {"api:5000", f"worker:{port}", "flower:5555"}
    grafana_mounts = [v.split(":")[0] for v in services["grafana"]["volumes"]]
    assert "./monitoring/grafana/dashboards" in grafana_mounts
