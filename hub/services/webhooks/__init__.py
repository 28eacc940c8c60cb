"""Outbound webhooks: endpoints, their secrets, and queuing deliveries when events happen.

An endpoint is a tenant's URL with the event types it wants. When a domain
event is published (`hub.jobs.events`), `queue_deliveries` adds one delivery and one
`webhook.deliver` job per enabled, subscribed endpoint of that tenant, in the
transaction that records the event. Sending is in `webhook_delivery.py`.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from hub import audit, jobs
from hub.extensions import db
from hub.integrations import http as outbound
from hub.integrations.standard_webhooks import generate_secret
from hub.jobs import events
from hub.models import (
    ACTIVE_STATUSES,
    USER_DISABLED_REASON,
    Job,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from hub.services import encryption, paginate
from hub.web.context import current_request_id
from hub.web.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)

DELIVER_JOB = "webhook.deliver"
MAX_ENDPOINTS_PER_TENANT = 50

encryption.register_encrypted(WebhookEndpoint.secret_encrypted,
                              WebhookEndpoint.previous_secret_encrypted)


def allow_private(config: Any) -> bool:
    """OUTBOUND_ALLOW_PRIVATE, which defaults to on outside production."""
    value = config.get("OUTBOUND_ALLOW_PRIVATE")
    return config["HUB_ENV"] != "production" if value is None else bool(value)


def check_endpoint_url(url: str) -> str:
    """The URL if webhooks may be sent there now; 422 naming the reason otherwise."""
    try:
        outbound.check_url(url, allow_private=allow_private(current_app.config))
    except (outbound.OutboundRefused, outbound.OutboundError) as exc:
        raise ValidationFailed("The webhook URL is not allowed.",
                               details={"fields": {"json": {"url": [str(exc)]}}}) from None
    return url


# --- endpoints ----------------------------------------------------------------

def list_endpoints(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[WebhookEndpoint], int]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    return paginate(query, page, per_page, WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)


def get_endpoint(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def create_endpoint(actor: audit.Actor, data: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it with its secret (the only time the secret is seen). Commits."""
    count = db.session.scalar(select(func.count()).select_from(WebhookEndpoint)
                              .where(WebhookEndpoint.tenant_id == actor.tenant_id)) or 0
    if count >= MAX_ENDPOINTS_PER_TENANT:
        raise Conflict(f"A tenant can have at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints.")
    url = check_endpoint_url(data["url"])
    secret = generate_secret()
    endpoint = WebhookEndpoint(id=uuid.uuid4(), tenant_id=actor.tenant_id, url=url,
                               description=data.get("description") or "", events=data["events"],
                               enabled=data.get("enabled", True),
                               secret_encrypted=encryption.encrypt(secret), created_by=actor.user_id)
    db.session.add(endpoint)
    audit.record(actor, "webhook_endpoint.created", "webhook_endpoint", endpoint.id,
                 {"url": url, "events": endpoint.events, "enabled": endpoint.enabled})
    db.session.commit()
    return endpoint, secret


def update_endpoint(actor: audit.Actor, endpoint: WebhookEndpoint,
                    changes: dict[str, Any]) -> WebhookEndpoint:
    """Change url, events, description or enabled. Commits."""
    if "url" in changes and changes["url"] != endpoint.url:
        check_endpoint_url(changes["url"])
    changed = {k: v for k, v in changes.items() if getattr(endpoint, k) != v}
    for name, value in changed.items():
        setattr(endpoint, name, value)
    if changed.get("enabled") is True:
        # Switched back on by a person: start with a clean record.
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
    elif changed.get("enabled") is False:
        endpoint.disabled_reason, endpoint.disabled_at = USER_DISABLED_REASON, utcnow()
    if changed:
        audit.record(actor, "webhook_endpoint.updated", "webhook_endpoint", endpoint.id,
                     {"changed": sorted(changed), **{k: changed[k] for k in ("url", "events", "enabled")
                                                     if k in changed}})
    db.session.commit()
    return endpoint


def delete_endpoint(actor: audit.Actor, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its delivery log; queued deliveries to it are dropped. Commits."""
    audit.record(actor, "webhook_endpoint.deleted", "webhook_endpoint", endpoint.id, {"url": endpoint.url})
    db.session.delete(endpoint)
    db.session.commit()


def rotate_secret(actor: audit.Actor, endpoint: WebhookEndpoint) -> str:
    """A new secret; the current one keeps signing for WEBHOOK_SECRET_GRACE_HOURS. Commits."""
    secret = generate_secret()
    grace = timedelta(hours=current_app.config["WEBHOOK_SECRET_GRACE_HOURS"])
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = utcnow() + grace
    endpoint.secret_encrypted = encryption.encrypt(secret)
    audit.record(actor, "webhook_endpoint.secret_rotated", "webhook_endpoint", endpoint.id,
                 {"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()})
    db.session.commit()
    return secret


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous during its grace."""
    found = [encryption.decrypt(endpoint.secret_encrypted)]
    if (endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > utcnow()):
        found.append(encryption.decrypt(endpoint.previous_secret_encrypted))
    return found


# --- deliveries -----------------------------------------------------------------

def list_deliveries(endpoint: WebhookEndpoint, page: int, per_page: int,
                    status: str | None = None) -> tuple[list[WebhookDelivery], int]:
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .options(selectinload(WebhookDelivery.attempts)))
    if status:
        query = query.where(WebhookDelivery.status == status)
    return paginate(query, page, per_page, WebhookDelivery.created_at.desc(), WebhookDelivery.id)


def get_delivery(tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.tenant_id != tenant_id:
        raise NotFound("Webhook delivery not found.")
    return delivery


def _queue(delivery: WebhookDelivery, request_id: str | None) -> Job:
    """Add the webhook.deliver job for a delivery to the session, with the configured schedule."""
    job = jobs.create_job(delivery.tenant_id, DELIVER_JOB, {"delivery_id": str(delivery.id)},
                          internal=True, flow_keys=[f"webhook-endpoint:{delivery.endpoint_id}"])
    # The attempt budget follows WEBHOOK_RETRY_SCHEDULE: one attempt, then one per wait.
    job.max_attempts = len(current_app.config["WEBHOOK_RETRY_SCHEDULE"]) + 1
    job.request_id = request_id  # the correlation id of what caused the event, also in a worker
    delivery.job_id = job.id
    return job


def replay(actor: audit.Actor, delivery: WebhookDelivery) -> Job:
    """Send a delivery again, with the same webhook-id and body. Commits and dispatches."""
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before replaying its deliveries.")
    if delivery.job_id is not None:
        current = db.session.get(Job, delivery.job_id)
        if current is not None and current.status in ACTIVE_STATUSES:
            raise Conflict("This delivery is still being sent.")
    delivery.status = "pending"
    job = _queue(delivery, current_request_id())
    audit.record(actor, "webhook_delivery.replayed", "webhook_delivery", delivery.id,
                 {"endpoint_id": str(endpoint.id), "job_id": str(job.id)})
    jobs.commit_and_dispatch()
    return job


_ENABLED_ENDPOINTS = select(WebhookEndpoint.__table__.c.id, WebhookEndpoint.__table__.c.events).where(
    WebhookEndpoint.__table__.c.tenant_id == bindparam("tenant_id",
                                                       type_=WebhookEndpoint.__table__.c.tenant_id.type),
    WebhookEndpoint.__table__.c.enabled.is_(True))


def queue_deliveries(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Event listener: a delivery and a job per enabled endpoint subscribed to this event.

    Runs in the publisher's transaction; the publisher commits (`jobs.commit_and_dispatch()`).
    A webhook.deliver job's own success or failure is not announced (no loops).
    """
    if event_type.startswith("job.") and data.get("type") == DELIVER_JOB:
        return []
    # This runs for every job that finishes: a Core statement built once says
    # which endpoints want the event; only those are loaded as objects.
    wanted = [row.id for row in db.session.execute(_ENABLED_ENDPOINTS, {"tenant_id": tenant_id})
              if event_type in (row.events or [])]
    if not wanted:
        return []
    subscribed = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(wanted))
                                    .order_by(WebhookEndpoint.created_at)).all()
    request_id = str(data.get("request_id") or current_request_id() or "")[:128] or None
    queued = _add_deliveries(subscribed, event_type, data, request_id)
    log.info("queued %d webhook deliveries of %s", len(queued), event_type)
    return queued


def _add_deliveries(endpoints: list[WebhookEndpoint], event_type: str, data: dict[str, Any],
                    request_id: str | None) -> list[WebhookDelivery]:
    """One delivery of the same body, and its webhook.deliver job, per endpoint (not committed)."""
    body = json.dumps({"type": event_type,
                       "timestamp": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"), default=str)
    queued = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(id=uuid.uuid4(), tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id,
                                   event_type=event_type, body=body, status="pending",
                                   request_id=request_id)
        db.session.add(delivery)
        _queue(delivery, request_id)
        queued.append(delivery)
    return queued


TEST_EVENT = "webhook.test"


def send_test(actor: audit.Actor, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` delivery to this endpoint only, whatever its events. Commits.

    It goes through the same delivery job as real events (signature, retries, the log), so a
    receiver can be checked before any real event happens. Not a domain event: nothing else
    hears of it.
    """
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before sending a test.")
    (delivery,) = _add_deliveries([endpoint], TEST_EVENT,
                                  {"endpoint_id": str(endpoint.id), "message": "A test from the hub."},
                                  current_request_id())
    audit.record(actor, "webhook_endpoint.tested", "webhook_endpoint", endpoint.id,
                 {"delivery_id": str(delivery.id)})
    jobs.commit_and_dispatch()
    return delivery



def purge_deliveries(older_than: timedelta) -> int:
    """Delete finished deliveries older than the cutoff; their attempts go by cascade. Commits."""
    cutoff = utcnow() - older_than
    old = select(WebhookDelivery.id).where(WebhookDelivery.status != "pending",
                                           WebhookDelivery.updated_at < cutoff)
    db.session.execute(WebhookAttempt.__table__.delete().where(WebhookAttempt.delivery_id.in_(old)))
    deleted = db.session.execute(WebhookDelivery.__table__.delete().where(
        WebhookDelivery.status != "pending", WebhookDelivery.updated_at < cutoff)).rowcount
    db.session.commit()
    return deleted


events.subscribe(events.ANY, queue_deliveries)
