"""Draw the Grafana dashboard's panels from a running hub's real metrics, with matplotlib.

For a picture of the dashboard where Grafana cannot run (no Docker): this puts a
hub under load, scrapes the API's `/metrics` and a worker's own `/metrics`
every few seconds as Prometheus would, computes what each panel of
monitoring/grafana/dashboards/integration-hub.json asks for (rates from counter
deltas, p50/p95 from histogram buckets, like `histogram_quantile`) and draws
them. The numbers are the hub's; the look is matplotlib's, not Grafana's.

    python scripts/dashboard_snapshot.py --api http://127.0.0.1:5000 \\
        --worker http://127.0.0.1:9808/metrics --minutes 4 --out docs/dashboard.png

The load: a new tenant (POST /auth/register) queues `demo.sleep` jobs, some of
which fail and are retried, and has a webhook endpoint (a receiver this script
serves on loopback, failing one call in five) for job.succeeded and job.failed.
Needs the bench extra (matplotlib).
"""
from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = requests.get(url, headers=headers, timeout=10)
    resp.raise_for_status()
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, by: str | None = None, **match: str) -> dict[str, float]:
    """Sum of `name` over series matching `match`, grouped by label `by` ("" when None)."""
    out: dict[str, float] = defaultdict(float)
    for (metric, labels), value in samples.items():
        d = dict(labels)
        if metric == name and all(_matches(d.get(k, ""), v) for k, v in match.items()):
            out[d.get(by, "") if by else ""] += value
    return out


def _matches(value: str, wanted: str) -> bool:
    return value in wanted.split("|")


def rate(before: Samples, after: Samples, seconds: float, name: str, by: str | None = None,
         **match: str) -> dict[str, float]:
    old, new = total(before, name, by, **match), total(after, name, by, **match)
    return {k: max(0.0, v - old.get(k, 0.0)) / seconds for k, v in new.items()}


def quantile(q: float, before: Samples, after: Samples, name: str, by: str | None = None,
             **match: str) -> dict[str, float]:
    """histogram_quantile(q, rate(name_bucket)) per group, by linear interpolation in a bucket."""
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for (metric, labels), value in after.items():
        d = dict(labels)
        if metric != f"{name}_bucket" or not all(_matches(d.get(k, ""), v) for k, v in match.items()):
            continue
        grew = value - before.get((metric, labels), 0.0)
        buckets[d.get(by, "") if by else ""][float(d["le"])] += max(0.0, grew)
    out = {}
    for group, counts in buckets.items():
        bounds = sorted(counts)
        count = counts[bounds[-1]] if bounds else 0.0
        if count <= 0:
            continue
        rank, lower, below = q * count, 0.0, 0.0
        for bound in bounds:
            if counts[bound] >= rank:
                if bound == float("inf"):
                    out[group] = lower
                else:
                    share = (rank - below) / (counts[bound] - below) if counts[bound] > below else 0
                    out[group] = lower + (bound - lower) * share
                break
            lower, below = bound, counts[bound]
    return out


class Receiver:
    """A webhook endpoint on loopback that fails one call in five with a 500."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(500 if random.random() < 0.2 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def load(api: str, stop: threading.Event, jobs_per_second: float) -> None:
    """A tenant that queues demo.sleep jobs (a tenth fail for good, a fifth fail once)."""
    user = requests.post(f"{api}/api/v1/auth/register", timeout=10, json={
        "tenant_name": "Dashboard load", "name": "Load", "email": f"load-{uuid.uuid4().hex[:8]}@example.com",
        "password": f"Load-{uuid.uuid4().hex}"}).json()["data"]
    headers = {"Authorization": f"Bearer {user['access_token']}"}
    receiver = Receiver()
    requests.post(f"{api}/api/v1/webhook-endpoints", headers=headers, timeout=10,
                  json={"url": receiver.url, "events": ["job.succeeded", "job.failed"]}).raise_for_status()
    renewed = time.monotonic()
    while not stop.wait(random.expovariate(jobs_per_second)):
        if time.monotonic() - renewed > 600:  # access tokens live 15 minutes
            user = requests.post(f"{api}/api/v1/auth/refresh", timeout=10, headers={
                "Authorization": f"Bearer {user['refresh_token']}"}).json()["data"]
            headers, renewed = {"Authorization": f"Bearer {user['access_token']}"}, time.monotonic()
        roll = random.random()
        payload = {"seconds": random.choice([0, 0, 1, 1, 2, 3]),
                   "fail_times": 5 if roll < 0.1 else 1 if roll < 0.3 else 0}
        try:
            requests.post(f"{api}/api/v1/jobs", headers=headers, timeout=10,
                          json={"type": "demo.sleep", "payload": payload})
            requests.get(f"{api}/api/v1/jobs?per_page=20", headers=headers, timeout=10)
            if roll > 0.95:  # a client mistake now and then: the 4xx share is not empty
                requests.get(f"{api}/api/v1/jobs/{uuid.uuid4()}", headers=headers, timeout=10)
        except requests.RequestException:
            pass


def collect(args: argparse.Namespace) -> list[tuple[float, Samples]]:
    stop = threading.Event()
    loader = threading.Thread(target=load, args=(args.api, stop, args.rate), daemon=True)
    loader.start()
    points: list[tuple[float, Samples]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60:
            at = time.monotonic()
            samples = scrape(f"{args.api}/metrics", args.token)
            samples.update(scrape(args.worker, None))
            points.append((at - started, samples))
            print(f"scraped at {at - started:5.0f} s: {len(samples)} samples", flush=True)
            time.sleep(max(0.0, args.interval - (time.monotonic() - at)))
    finally:
        stop.set()
    return points


def draw(points: list[tuple[float, Samples]], out: str, window: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))

    def put(panel: str, at: float, values: dict[str, float], prefix: str = "") -> None:
        for key, value in values.items():
            series[panel][f"{prefix}{key or 'all'}"].append((at / 60, value))

    for i, (at, now) in enumerate(points):
        put("Queue depth per queue", at, total(now, "hub_jobs", "queue", status="queued"))
        put("Oldest queued job per queue (s)", at, total(now, "hub_oldest_queued_job_age_seconds", "queue"))
        if i < window:
            continue
        then_at, then = points[i - window]
        dt = at - then_at
        put("Throughput by job type (succeeded/s)", at,
            rate(then, now, dt, "hub_job_attempts_total", "type", outcome="succeeded"))
        put("Failures by job type (failed attempts/s)", at,
            rate(then, now, dt, "hub_job_attempts_total", "type", outcome="failed|failed_attempt"))
        for q in (0.5, 0.95):
            put("Job duration p50 / p95 (s)", at,
                quantile(q, then, now, "hub_job_duration_seconds", "type", status="succeeded"),
                f"p{int(q * 100)} ")
            put("HTTP latency p50 / p95 (s)", at,
                quantile(q, then, now, "hub_http_request_duration_seconds"), f"p{int(q * 100)} ")
        requests_ = sum(rate(then, now, dt, "hub_http_requests_total").values())
        if requests_:
            for cls in ("4", "5"):
                errors = sum(v for k, v in rate(then, now, dt, "hub_http_requests_total", "status").items()
                             if k.startswith(cls))
                put("HTTP error share", at, {f"{cls}xx": errors / requests_})
        put("Webhook deliveries by outcome (/s)", at,
            rate(then, now, dt, "hub_webhook_deliveries_total", "outcome"))
        calls = rate(then, now, dt, "hub_integration_requests_total", "outcome", integration="webhook")
        put("Integration calls: webhook, by outcome (/s)", at, calls)

    panels = list(series)
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    plt.style.use("dark_background")
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.2 * rows), squeeze=False)
    fig.patch.set_facecolor("#111217")
    for ax, title in zip(axes.flat, panels, strict=False):
        ax.set_facecolor("#181b1f")
        for label, xy in sorted(series[title].items()):
            xs, ys = zip(*xy, strict=True)
            ax.plot(xs, ys, label=label, linewidth=1.6)
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_xlabel("minutes", fontsize=8)
        ax.grid(alpha=0.15)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Integration hub — the dashboard's panels from real scraped metrics", x=0.01, ha="left",
                 fontsize=13)
    fig.tight_layout()
    fig.savefig(out, dpi=110, facecolor=fig.get_facecolor())
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:5000", help="the hub's base URL")
    parser.add_argument("--worker", default="http://127.0.0.1:9808/metrics",
                        help="a worker's /metrics (WORKER_METRICS_PORT)")
    parser.add_argument("--token", help="METRICS_TOKEN, if the API asks for one")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between scrapes")
    parser.add_argument("--rate", type=float, default=2.0, help="jobs queued per second")
    parser.add_argument("--window", type=int, default=6, help="scrapes a rate is taken over")
    parser.add_argument("--out", default="docs/dashboard.png")
    args = parser.parse_args()
    draw(collect(args), args.out, args.window)


if __name__ == "__main__":
    main()
