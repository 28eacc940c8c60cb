"""What every layer tells operators: the job in hand, calls to the outside world.

A leaf module (prometheus-client and the OpenTelemetry API only), so the
integration adapters at the bottom of the house can use it as freely as the
worker's task base at the top.

- `job_scope(...)` names the job a worker is running (request id, job id,
  tenant, type) for log lines, span attributes and the opt-in tenant label.
- `integration_call(integration, operation)` wraps one call to SMTP, S3,
  Stripe, a webhook endpoint or a connector's source: it counts
  `hub_integration_requests_total{integration,outcome}`, times it, and opens a
  client span (a no-op until tracing is configured, see hub/tracing.py).
- `TenantCounter` is a Counter that gains a `tenant` label when
  METRICS_TENANT_LABELS is on. Tenant ids are unbounded, so they stay out of
  labels unless an operator with few tenants asks for them.

Outcomes of an integration call: `ok` (the peer did what was asked), `rejected`
(the peer answered no: an HTTP 4xx, an SMTP 5xx), `error` (no usable answer: a
timeout, a refused connection, an HTTP 5xx or 429, an SMTP 4xx) and `refused`
(the hub's own guard would not make the call, e.g. a private address).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from opentelemetry import trace
from prometheus_client import REGISTRY, Counter, Histogram

OUTCOMES = ("ok", "rejected", "error", "refused")
NO_TENANT = "-"


@dataclass(frozen=True)
class JobScope:
    request_id: str | None
    job_id: str | None
    tenant_id: str | None
    job_type: str | None


_job: ContextVar[JobScope | None] = ContextVar("hub_job_scope", default=None)


@contextmanager
def job_scope(request_id: str | None, job_id: str | None, tenant_id: str | None = None,
              job_type: str | None = None) -> Iterator[JobScope]:
    """Name the job being worked on inside the block (the worker sets it around an attempt)."""
    scope = JobScope(request_id, job_id, tenant_id and str(tenant_id), job_type)
    token = _job.set(scope)
    try:
        yield scope
    finally:
        _job.reset(token)


def current_job() -> JobScope | None:
    return _job.get()


# --- the opt-in tenant label ---------------------------------------------------------

_tenant_labels = False
_metrics_lock = threading.Lock()


class TenantCounter:
    """A Counter whose labels end in `tenant` when METRICS_TENANT_LABELS is on.

    The label set of a Prometheus metric is fixed when it is made, and the
    setting is only known when the app is created, so the Counter is made on
    first use (and made again if a test switches the setting).
    """

    _all: list[TenantCounter] = []

    def __init__(self, name: str, documentation: str, labelnames: list[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, list(labelnames)
        self._metric: Counter | None = None
        self._tenant = False
        TenantCounter._all.append(self)

    def _get(self) -> Counter:
        with _metrics_lock:
            if self._metric is None or self._tenant != _tenant_labels:
                if self._metric is not None:
                    REGISTRY.unregister(self._metric)
                self._tenant = _tenant_labels
                labels = self.labelnames + (["tenant"] if self._tenant else [])
                self._metric = Counter(self.name, self.documentation, labels)
            return self._metric

    def inc(self, *values: str, tenant_id: str | None = None, amount: float = 1) -> None:
        metric = self._get()
        if self._tenant:
            scope = current_job()
            tenant = tenant_id or (scope.tenant_id if scope else None) or NO_TENANT
            values = (*values, str(tenant))
        metric.labels(*values).inc(amount)


def use_tenant_labels(on: bool) -> None:
    """Switch the `tenant` label on or off (create_app, from METRICS_TENANT_LABELS)."""
    global _tenant_labels
    _tenant_labels = bool(on)


def tenant_labels() -> bool:
    return _tenant_labels


# --- calls to the outside world ---------------------------------------------------------

INTEGRATION_REQUESTS = TenantCounter(
    "hub_integration_requests_total",
    "Calls to the outside world (SMTP, S3, Stripe, webhook endpoints, connector sources), by outcome.",
    ["integration", "outcome"])
INTEGRATION_DURATION = Histogram(
    "hub_integration_request_duration_seconds", "Time one call to the outside world took.",
    ["integration"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))

_tracer = trace.get_tracer("hub.integrations")


class IntegrationCall:
    """The caller sets `outcome` when the call's end is not what it looks like: left unset,
    a normal exit is `ok` and an exception is `error`."""

    def __init__(self, span: Any) -> None:
        self.span = span
        self.outcome: str | None = None

    def answered(self, status: int) -> None:
        """Classify an HTTP answer: 2xx/3xx ok, 429 and 5xx error, other 4xx rejected."""
        self.span.set_attribute("http.response.status_code", status)
        if status == 429 or status >= 500:
            self.outcome = "error"
        elif status >= 400:
            self.outcome = "rejected"
        else:
            self.outcome = "ok"


@contextmanager
def integration_call(integration: str, operation: str, **attributes: Any) -> Iterator[IntegrationCall]:
    """Count, time and trace one call; an exception out of the block is an `error` unless
    the caller classified it already."""
    scope = current_job()
    attrs = {"hub.integration": integration, **{k: v for k, v in attributes.items() if v is not None}}
    if scope is not None and scope.job_id:
        attrs["hub.job_id"] = scope.job_id
    with _tracer.start_as_current_span(f"{integration} {operation}", kind=trace.SpanKind.CLIENT,
                                       attributes=attrs) as span:
        call = IntegrationCall(span)
        started = time.perf_counter()
        try:
            yield call
        except BaseException:
            call.outcome = call.outcome or "error"
            raise
        finally:
            call.outcome = call.outcome or "ok"
            span.set_attribute("hub.outcome", call.outcome)
            INTEGRATION_REQUESTS.inc(integration, call.outcome)
            INTEGRATION_DURATION.labels(integration).observe(time.perf_counter() - started)
