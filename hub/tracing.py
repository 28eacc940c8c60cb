"""OpenTelemetry tracing: off unless the standard OTEL_* variables ask for it.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) or
OTEL_TRACES_EXPORTER is set, and OTEL_SDK_DISABLED is not true. Spans go out
by OTLP over HTTP (`otlp`, the default) or to stdout (`console`); the SDK
reads everything else itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS ...).

One trace follows a job from the request that created it:

    HTTP span (Flask) → INSERT jobs (SQLAlchemy) → job.dispatch (PRODUCER, here)
      → run/<job type> (Celery, in the worker) → job.attempt (workers/base.py)
        → smtp / s3 / stripe / webhook / connector calls (hub/telemetry.py) → HTTP (urllib3, requests)

A job is often sent to the broker later, by the relay, not by its request.
So the request's `traceparent` is written on the job row when it is inserted,
and every dispatch of the job sends under that context, with the W3C headers
in the Celery message; the worker's span joins the request's trace however
late, or however often, the job runs.

The maintained instrumentations do the rest: Flask, SQLAlchemy, Redis,
requests, urllib3 here; Celery in the worker processes (`instrument_celery`).
Celery's is not used in the web process: it cannot end its publish span for
a task the process does not register (`send_task` by name), which would leave
that span open as the thread's current span.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from flask import Flask
from opentelemetry import context, propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

_W3C = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("hub.jobs")
# The worker and realtime entry points name their own service before create_app runs.
_state: dict[str, Any] = {"provider": None, "celery": False, "service": "hub-api"}
# Beat's ticks (the relay every few seconds, retention, schedulers) are not traced:
# they would bury the traces of jobs. Jobs the relay sends still join their own.
QUIET_PREFIXES = ("hub.maintenance.",)
EXCLUDED_URLS = "health/live,health/ready,metrics"


def enabled(config: dict[str, Any]) -> bool:
    if config.get("OTEL_SDK_DISABLED"):
        return False
    exporter = (config.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter or config.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or config.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def name_service(name: str) -> None:
    """`service.name` of this process's spans, unless OTEL_SERVICE_NAME says otherwise."""
    _state["service"] = name


def init_tracing(app: Flask) -> bool:
    """Set up the tracer provider and the instrumentations, once per process."""
    if not enabled(app.config):
        return False
    if _state["provider"] is None:
        _state["provider"] = _make_provider(app.config, _state["service"])
        trace.set_tracer_provider(_state["provider"])
        _instrument_libraries(app)
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor().instrument_app(
        app, excluded_urls=os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS", EXCLUDED_URLS))
    app.before_request(_tag_request)
    return True


def _make_provider(config: dict[str, Any], service_name: str) -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter_name = (config.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower()
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_EXPORTER_OTLP_*
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    # The sampler the OTEL_TRACES_SAMPLER variables describe, with beat's ticks left out.
    sampler = QuietTicksSampler(TracerProvider(shutdown_on_exit=False).sampler)
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    # Exports from a thread of its own, which the SDK restarts in forked children
    # (gunicorn's workers, Celery's prefork pool).
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _instrument_libraries(app: Flask) -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from sqlalchemy import event

    from hub.extensions import db
    from hub.models import Job

    with app.app_context():
        # The instrumentation declares SQLAlchemy < 2.1 and would do nothing on 2.1; the
        # engine events it uses are unchanged in 2.1, and the test of the trace checks
        # the INSERT span is there.
        SQLAlchemyInstrumentor().instrument(engine=db.engine, skip_dep_check=True)
    RedisInstrumentor().instrument()
    RequestsInstrumentor().instrument()   # Stripe's client
    # Outbound webhooks and connectors, boto3 (S3). Spans keep the origin only: a
    # tenant's webhook URL can carry its secret in the path (Slack-style), and a
    # connector's query its API key.
    URLLib3Instrumentor().instrument(url_filter=origin_only)
    event.listen(Job, "before_insert", _stamp_traceparent)


def instrument_celery() -> None:
    """Worker, beat and Flower processes: spans for task runs, context from the message."""
    if _state["provider"] is None or _state["celery"]:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().instrument()
    _state["celery"] = True


def _tag_request() -> None:
    from hub.web.context import current_request_id

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("hub.request_id", current_request_id() or "")


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, if there is a recording one."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def _stamp_traceparent(_mapper: Any, _connection: Any, job: Any) -> None:
    if job.traceparent is None:
        job.traceparent = current_traceparent()
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("hub.job.created", {"hub.job_id": str(job.id), "hub.job_type": job.type})


@contextmanager
def dispatching(job_id: str, job_type: str, tenant_id: str, request_id: str | None,
                traceparent: str | None, headers: dict[str, Any]) -> Iterator[None]:
    """Around sending one job to the broker: a PRODUCER span under the job's own trace,
    its context written into the message `headers` for the worker."""
    parent = _W3C.extract({"traceparent": traceparent}) if traceparent else None
    token = context.attach(parent) if parent is not None else None
    try:
        with _tracer.start_as_current_span(
                f"job.dispatch {job_type}", kind=trace.SpanKind.PRODUCER,
                attributes={"hub.job_id": job_id, "hub.job_type": job_type, "hub.tenant_id": tenant_id,
                            "hub.request_id": request_id or ""}):
            propagate.inject(headers)
            yield
    finally:
        if token is not None:
            context.detach(token)


@contextmanager
def job_attempt(job_id: str, job_type: str, tenant_id: str, request_id: str | None,
                attempt: int) -> Iterator[Any]:
    """The span of one attempt at a job, inside the Celery task's span."""
    with _tracer.start_as_current_span(
            f"job.attempt {job_type}",
            attributes={"hub.job_id": job_id, "hub.job_type": job_type, "hub.tenant_id": tenant_id,
                        "hub.request_id": request_id or "", "hub.attempt": attempt}) as span:
        yield span


class QuietTicksSampler:
    """Drops traces that would start at a periodic housekeeping task or at a bare client
    call (a Redis poll of Celery's consumer, a query of the metrics scrape, the realtime
    process's checks): a trace starts where the hub is asked to do something, a
    request or a task. `base` (OTEL_TRACES_SAMPLER) decides the rest.
    """

    def __init__(self, base: Any) -> None:
        self.base = base

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Sequence[Any] | None = None,
                      trace_state: Any = None) -> Any:
        from opentelemetry.sdk.trace.sampling import Decision, SamplingResult

        is_root = not trace.get_current_span(parent_context).get_span_context().is_valid
        if is_root and (kind == trace.SpanKind.CLIENT or any(p in name for p in QUIET_PREFIXES)):
            return SamplingResult(Decision.DROP)
        return self.base.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                       trace_state)

    def get_description(self) -> str:
        return f"QuietTicks({self.base.get_description()})"


def origin_only(url: str) -> str:
    """`https://hooks.example/T0/B0/secret?k=v` → `https://hooks.example/`: what a span may say."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/"
