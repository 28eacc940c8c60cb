"""Prometheus metrics with prometheus-client: the API's `GET /metrics` and the ledger's gauges.

HTTP metrics are counted in every API process. Under gunicorn (several
processes) prometheus-client's multiprocess mode sums them: gunicorn.conf.py
sets PROMETHEUS_MULTIPROC_DIR before anything imports the library, and a
scrape reads every process's files. Routes are labelled by their URL rule
(`/api/v1/jobs/<uuid:job_id>`), never the raw path, so ids cannot blow up the
series count.

Gauges from the ledger are computed at scrape time by a few indexed queries
(only jobs in flight: `queued`, `running`, `retrying`), cached for
METRICS_CACHE_SECONDS so a busy scraper cannot load the database. Open sockets
come from the realtime processes, which each publish their count in Redis with
a short expiry (hub/realtime_server).

Access: open in development and testing; otherwise `Authorization: Bearer
<METRICS_TOKEN>`, and production refuses to start without a token unless
METRICS_PUBLIC=1 (a private network).
"""
from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from typing import Any, Iterator

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from hub.extensions import db, limiter, redis_client
from hub.models import ACTIVE_STATUSES, USER_DISABLED_REASON, Job, WebhookEndpoint
from hub.telemetry import TenantCounter, tenant_labels, use_tenant_labels
from hub.web.errors import error_response

log = logging.getLogger(__name__)

SOCKETS_KEY_PREFIX = "hub:realtime:connections:"

HTTP_REQUESTS = Counter("hub_http_requests_total", "HTTP requests answered by the API.",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("hub_http_request_duration_seconds", "Time to answer an HTTP request.",
                          ["method", "route"],
                          buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _count(response: Response) -> Response:
    started = getattr(g, "request_started", None)
    route = _route()
    if route != "/metrics":
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_DURATION.labels(request.method, route).observe(time.perf_counter() - started)
    return response


class LedgerCollector:
    """hub_jobs, hub_oldest_queued_job_age_seconds, hub_outbox_pending,
    hub_webhook_endpoints_disabled, hub_socket_connections."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Any]] | None = None

    def collect(self) -> Iterator[Any]:
        ttl = self.app.config["METRICS_CACHE_SECONDS"]
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > ttl:
                self._cached = (time.monotonic(), self._read())
            yield from self._cached[1]

    def _read(self) -> list[Any]:
        sockets = GaugeMetricFamily("hub_socket_connections",
                                    "Open Socket.IO connections, over every realtime process.",
                                    value=_socket_connections())
        try:
            return [*self._ledger(), sockets]
        except SQLAlchemyError as exc:  # the database is down: the rest of the scrape still works
            log.warning("ledger metrics skipped: %s", exc)
            return [sockets]
        finally:
            db.session.remove()

    def _ledger(self) -> list[Any]:
        by_tenant = tenant_labels()
        # `queue` follows from `type` (a type has one queue): it adds no series, and lets a
        # dashboard show depth per queue.
        jobs = GaugeMetricFamily("hub_jobs", "Jobs in flight in the ledger, by status, type and queue.",
                                 labels=["status", "type", "queue", *(["tenant"] if by_tenant else [])])
        columns = (Job.status, Job.type, Job.queue, *((Job.tenant_id,) if by_tenant else ()))
        for *labels, n in db.session.execute(
                select(*columns, func.count()).where(Job.status.in_(ACTIVE_STATUSES))
                .group_by(*columns)):
            jobs.add_metric([str(label) for label in labels], n)
        oldest = GaugeMetricFamily("hub_oldest_queued_job_age_seconds",
                                   "Age of the oldest job waiting to run, per queue.", labels=["queue"])
        now = time.time()
        for queue, created in db.session.execute(
                select(Job.queue, func.min(Job.created_at)).where(Job.status == "queued")
                .group_by(Job.queue)):
            oldest.add_metric([queue], max(0.0, now - created.timestamp()))
        pending = db.session.scalar(select(func.count()).select_from(Job).where(
            Job.status.in_(("queued", "retrying")), Job.dispatched_at.is_(None))) or 0
        outbox = GaugeMetricFamily("hub_outbox_pending",
                                   "Jobs waiting in the outbox to be sent to the broker.", value=pending)
        disabled = db.session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
            WebhookEndpoint.enabled.is_(False), WebhookEndpoint.disabled_reason.is_not(None),
            WebhookEndpoint.disabled_reason != USER_DISABLED_REASON)) or 0
        endpoints = GaugeMetricFamily(
            "hub_webhook_endpoints_disabled",
            "Webhook endpoints the hub disabled (410 Gone, or failing for WEBHOOK_DISABLE_AFTER_DAYS).",
            value=disabled)
        return [jobs, oldest, outbox, endpoints]


def _socket_connections() -> int:
    try:
        client = redis_client()
        keys = list(client.scan_iter(SOCKETS_KEY_PREFIX + "*", count=100))
        return sum(int(v) for v in client.mget(keys) if v is not None) if keys else 0
    except Exception:  # noqa: BLE001 - a scrape without Redis still reports the ledger
        return 0


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return current_app.config["HUB_ENV"] != "production" or current_app.config["METRICS_PUBLIC"]
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view() -> Response:
    """GET /metrics: the Prometheus text format."""
    if not _authorized():
        return error_response(401, "Send `Authorization: Bearer <METRICS_TOKEN>`.")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    ledger = CollectorRegistry(auto_describe=False)
    ledger.register(current_app.extensions["hub.ledger_metrics"])
    body = generate_latest(base) + generate_latest(ledger)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def init_metrics(app: Flask) -> None:
    """Count every request, and serve GET /metrics."""
    use_tenant_labels(app.config["METRICS_TENANT_LABELS"])
    app.extensions["hub.ledger_metrics"] = LedgerCollector(app)
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", limiter.exempt(metrics_view), methods=["GET"])


# --- the workers' side ----------------------------------------------------------------

JOB_DURATION = Histogram("hub_job_duration_seconds", "Time one attempt at a job took, by outcome.",
                         ["type", "status"],
                         buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900))
JOB_QUEUE_WAIT = Histogram("hub_job_queue_wait_seconds",
                           "Time from a job being sent to a worker to its attempt starting.", ["type"],
                           buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
JOB_ATTEMPTS = TenantCounter("hub_job_attempts_total", "Attempts at jobs, by outcome.", ["type", "outcome"])
WEBHOOK_DELIVERIES = TenantCounter(
    "hub_webhook_deliveries_total",
    "Attempts at webhook deliveries: delivered, retry, failed, disabled (the endpoint), refused (its URL).",
    ["outcome"])


def observe_attempt(job_type: str, outcome: str, seconds: float, waited: float | None) -> None:
    """Record one attempt (called by the worker's task base)."""
    JOB_ATTEMPTS.inc(job_type, outcome)
    JOB_DURATION.labels(job_type, outcome).observe(seconds)
    if waited is not None:
        JOB_QUEUE_WAIT.labels(job_type).observe(max(0.0, waited))


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> None:
    """The worker's own /metrics on `port`, summed over its prefork children."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
