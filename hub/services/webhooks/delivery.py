"""`webhook.deliver`: send one delivery to its endpoint, Standard Webhooks style.

Each attempt is one signed POST through the SSRF-guarded client, logged as a
`WebhookAttempt`. 2xx is delivered; 410 disables the endpoint; 429, 5xx,
timeouts and connection errors are retried on WEBHOOK_RETRY_SCHEDULE (parked
in the database by the pipeline, at least as long as the peer's Retry-After);
any other answer fails the delivery. An endpoint whose attempts have all
failed for WEBHOOK_DISABLE_AFTER_DAYS is disabled, and its tenant is told.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from flask import current_app, has_app_context

from hub import audit
from hub.extensions import db
from hub.integrations import http as outbound
from hub.integrations import standard_webhooks
from hub.jobs.types import JobContext, PermanentError, RetryableError, RetryPolicy, job_type
from hub.metrics import WEBHOOK_DELIVERIES
from hub.models import Job, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from hub.realtime import notify_tenant
from hub.services import encryption
from hub.services.webhooks import DELIVER_JOB, allow_private, signing_secrets
from hub.version import VERSION

log = logging.getLogger(__name__)

SPEC_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
MAX_RETRY_AFTER = 24 * 3600.0     # a peer cannot park a delivery for longer than this per wait
RESPONSE_BYTES_READ = 2048
RESPONSE_BODY_KEPT = 1000          # characters of the response body in the delivery log
USER_AGENT = f"integration-hub-webhooks/{VERSION}"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["delivery_id"],
    "properties": {"delivery_id": {"type": "string", "format": "uuid",
                                   "description": "The webhook delivery to send."}},
}


class ScheduledRetryPolicy(RetryPolicy):
    """Waits from the WEBHOOK_RETRY_SCHEDULE setting (the spec's by default)."""

    def delay(self, attempt: int, rng=None, retry_after: float | None = None) -> float:
        schedule = current_app.config.get("WEBHOOK_RETRY_SCHEDULE") if has_app_context() else None
        policy = replace(self, schedule=tuple(float(s) for s in schedule)) if schedule else self
        return RetryPolicy.delay(policy, attempt, rng, retry_after)


POLICY = ScheduledRetryPolicy(max_attempts=len(SPEC_SCHEDULE) + 1, schedule=SPEC_SCHEDULE, jitter=0.1)


@dataclass
class AttemptResult:
    outcome: str                  # delivered | retry | failed | disabled | refused
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    retryable: bool = False       # worth another attempt (even if none is left)


@job_type(DELIVER_JOB, schema=SCHEMA, queue="webhooks", retry=POLICY, creatable=False,
          description="Send one webhook delivery (internal: queued by domain events and replays).")
def deliver(ctx: JobContext) -> dict[str, Any]:
    delivery = db.session.get(WebhookDelivery, uuid.UUID(ctx.payload["delivery_id"]))
    if delivery is None:
        raise PermanentError("The delivery no longer exists (its endpoint was deleted).",
                             code="WEBHOOK_DELIVERY_GONE")
    if delivery.status == "delivered" and delivery.job_id == ctx.job_id:
        # This job already got a 2xx (and then lost its lease): do not send twice.
        return {"delivery_id": str(delivery.id), "webhook_id": delivery.webhook_id, "repeated": True}
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None:  # deleted since the delivery was loaded; the delivery goes with it
        raise PermanentError("The webhook endpoint was deleted.", code="WEBHOOK_DELIVERY_GONE")
    if not endpoint.enabled:
        delivery.status, delivery.last_error = "failed", "the endpoint is disabled"
        db.session.commit()
        raise PermanentError("The webhook endpoint is disabled.", code="WEBHOOK_ENDPOINT_DISABLED")
    job = db.session.get(Job, ctx.job_id)
    is_last = job is None or ctx.attempt >= job.max_attempts
    result = attempt_delivery(delivery, endpoint, ctx.job_id, ctx.attempt, is_last)
    summary = f"status {result.status_code}" if result.status_code else (result.error or "")
    if result.outcome == "delivered":
        return {"delivery_id": str(delivery.id), "webhook_id": delivery.webhook_id,
                "status_code": result.status_code}
    if result.retryable and result.outcome in ("retry", "failed"):
        # Out of attempts too: the pipeline fails the job with this error.
        code = "WEBHOOK_HTTP_ERROR" if result.status_code else "WEBHOOK_UNREACHABLE"
        raise RetryableError(f"The endpoint did not accept the webhook ({summary}).", code=code,
                             retry_after=result.retry_after)
    if result.outcome == "disabled":
        raise PermanentError(f"The endpoint was disabled ({summary}).", code="WEBHOOK_ENDPOINT_DISABLED")
    if result.outcome == "refused":
        raise PermanentError(f"The webhook URL was refused: {result.error}", code="WEBHOOK_URL_REFUSED")
    raise PermanentError(f"The endpoint rejected the webhook ({summary}).", code="WEBHOOK_REJECTED")


def attempt_delivery(delivery: WebhookDelivery, endpoint: WebhookEndpoint, job_id: uuid.UUID | None,
                     attempt: int, is_last: bool) -> AttemptResult:
    """Send the delivery once, log the attempt, update delivery and endpoint. Commits."""
    config = current_app.config
    try:
        secrets = signing_secrets(endpoint)
    except encryption.DecryptionError:
        log.error("the signing secret of endpoint %s cannot be decrypted; check ENCRYPTION_KEYS",
                  endpoint.id)
        raise RetryableError("The endpoint's signing secret cannot be decrypted.",
                             code="WEBHOOK_SECRET_UNREADABLE") from None
    body = delivery.body.encode("utf-8")
    headers = standard_webhooks.headers(secrets, delivery.webhook_id, int(time.time()), body)
    headers["user-agent"] = USER_AGENT
    if delivery.request_id:
        headers["x-request-id"] = delivery.request_id
    started = time.monotonic()
    result, duration, response_body = _send(endpoint.url, headers, body, config)
    if result.outcome == "retry" and is_last:
        result.outcome = "failed"
    if duration is None:
        duration = round((time.monotonic() - started) * 1000, 1)
    if result.outcome == "delivered":
        delivery.status, delivery.delivered_at = "delivered", utcnow()
        endpoint.failing_since = None
    else:
        _note_failure(endpoint, result)
        if not endpoint.enabled:
            result.outcome = "disabled"  # by this failure: no retries to a disabled endpoint
        delivery.status = "pending" if result.outcome == "retry" else "failed"
    db.session.add(WebhookAttempt(delivery_id=delivery.id, job_id=job_id, attempt=attempt,
                                  outcome=result.outcome, status_code=result.status_code,
                                  duration_ms=duration, response_body=response_body,
                                  error=(result.error or None) and result.error[:500]))
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error[:500] if result.error else None
    db.session.commit()
    WEBHOOK_DELIVERIES.inc(result.outcome, tenant_id=str(endpoint.tenant_id))
    if result.outcome == "disabled":
        notify_tenant(endpoint.tenant_id, "webhook_endpoint.disabled",
                      f"Webhook endpoint {endpoint.url} was disabled: {endpoint.disabled_reason}.",
                      {"endpoint_id": str(endpoint.id), "url": endpoint.url,
                       "reason": endpoint.disabled_reason})
    log.info("webhook %s to endpoint %s: %s %s", delivery.webhook_id, endpoint.id, result.outcome,
             result.status_code or result.error)
    return result


def _send(url: str, headers: dict[str, str], body: bytes,
          config: Any) -> tuple[AttemptResult, float | None, str | None]:
    try:
        response = outbound.request("POST", url, headers=headers, body=body,
                                    timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
                                    allow_private=allow_private(config),
                                    max_response_bytes=RESPONSE_BYTES_READ, integration="webhook")
    except outbound.OutboundRefused as exc:
        return AttemptResult("refused", error=str(exc)), None, None
    except outbound.OutboundError as exc:
        return AttemptResult("retry", error=f"{exc.kind}: {exc.message}", retryable=True), None, None
    text = response.body.decode("utf-8", errors="replace")[:RESPONSE_BODY_KEPT]
    status = response.status
    if 200 <= status < 300:
        result = AttemptResult("delivered", status)
    elif status == 410:
        result = AttemptResult("disabled", status, "the endpoint answered 410 Gone")
    elif status == 429 or status >= 500:
        result = AttemptResult("retry", status, f"HTTP {status}", retryable=True,
                               retry_after=parse_retry_after(response.headers.get("retry-after")))
    else:
        result = AttemptResult("failed", status, f"HTTP {status}")
    return result, response.duration_ms, text


def _note_failure(endpoint: WebhookEndpoint, result: AttemptResult) -> None:
    """Track the run of failures; disable on 410 or after WEBHOOK_DISABLE_AFTER_DAYS of them."""
    now = utcnow()
    if result.outcome == "disabled":
        _disable(endpoint, "the endpoint answered 410 Gone")
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    limit = timedelta(days=current_app.config["WEBHOOK_DISABLE_AFTER_DAYS"])
    if endpoint.enabled and now - endpoint.failing_since >= limit:
        days = current_app.config["WEBHOOK_DISABLE_AFTER_DAYS"]
        _disable(endpoint, f"every attempt failed for {days:g} days")


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    if not endpoint.enabled:
        return
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, utcnow()
    audit.record(audit.Actor(endpoint.tenant_id), "webhook_endpoint.disabled", "webhook_endpoint",
                 endpoint.id, {"reason": reason})


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value) if value.isdigit() else (
            parsedate_to_datetime(value) - utcnow()).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, min(MAX_RETRY_AFTER, seconds))
