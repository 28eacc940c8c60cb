"""Stripe webhooks: the inbox (each event once), routing to tenants, and the job that applies them.

The endpoint only verifies, stores and queues (`receive`); a worker applies the
event (`payments.process_event`) through `hub.services.payments.invoice_updates`, which
re-reads the object from Stripe instead of trusting the payload. Which tenant
an event concerns comes from `stripe_links` (connected account, else
customer), never from the payload alone; the worker checks it again on the
fresh object. Settled events leave the inbox after STRIPE_EVENT_RETENTION_DAYS
(`purge_settled`), long after Stripe stops redelivering them (3 days).
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from hub import jobs
from hub.extensions import db
from hub.integrations import stripe_api
from hub.jobs.types import JobContext, PermanentError, RetryPolicy, job_type
from hub.models import Job, Tenant, utcnow
from hub.models.payment import StripeEvent, StripeLink
from hub.services.payments import invoice_updates as invoice_sync
from hub.services.payments import stripe_settings
from hub.services.payments.invoices import stripe_flow_keys, tenant_for
from hub.web.errors import BadRequest, ServiceUnavailable

log = logging.getLogger(__name__)

PROCESS_EVENT = "payments.process_event"
HANDLED = ("payment_intent.succeeded", "charge.succeeded", "charge.refunded", "invoice.paid",
           "invoice.payment_failed", "payout.paid", "payout.reconciliation_completed")


# --- the endpoint's side ------------------------------------------------------------

def receive(payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify, store once, queue processing. Returns (event row, duplicate?)."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or stripe_settings.current() is None:
        raise ServiceUnavailable("Stripe webhooks are not configured on this hub "
                                 "(STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET).")
    try:
        event = stripe_api.verify_webhook(payload, signature, secret)
    except stripe_api.SignatureError as exc:
        raise BadRequest(f"The Stripe-Signature header is not valid: {exc}") from None
    except stripe_api.MalformedEventError as exc:
        raise BadRequest(f"The Stripe event is malformed: {exc}") from None
    event_id = str(event["id"])[:255]
    existing = db.session.get(StripeEvent, event_id)
    if existing is not None:
        return existing, True
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        raise BadRequest("The Stripe event has no data.object.")
    created = event.get("created")
    row = StripeEvent(id=event_id, type=str(event.get("type") or "")[:100],
                      account=event.get("account"), object_type=obj.get("object"),
                      object_id=obj.get("id"), livemode=bool(event.get("livemode")),
                      stripe_created=datetime.fromtimestamp(created, UTC)
                      if isinstance(created, int) else None,
                      payload=event, status="received", received_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # the same event, delivered twice at the same moment
        db.session.rollback()
        return db.session.get(StripeEvent, event_id), True
    if row.type not in HANDLED or not row.object_id:
        row.status = "ignored"
    else:
        tenants = route(row.account, _id(obj.get("customer")), row.object_type)
        for tenant_id in tenants:
            jobs.create_job(tenant_id, PROCESS_EVENT, {"event_id": row.id}, internal=True)
        row.status = "queued" if tenants else "unrouted"
        row.tenant_id = tenants[0] if len(tenants) == 1 else None
        if not tenants:
            log.warning("stripe event %s (%s) concerns no known tenant", row.id, row.type)
    jobs.commit_and_dispatch()
    return row, False


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def route(account: str | None, customer: str | None, object_type: str | None) -> list[uuid.UUID]:
    """The tenants an event concerns, from the links table only."""
    if account:
        tenant = tenant_for("account", account)
        return [tenant] if tenant else []
    if customer:
        tenant = tenant_for("customer", customer)
        return [tenant] if tenant else []
    if object_type == "payout":
        return platform_tenants()
    return []


def platform_tenants() -> list[uuid.UUID]:
    """Tenants that take payments on the platform account (customer links, no account link)."""
    with_account = select(StripeLink.tenant_id).where(StripeLink.kind == "account")
    return list(db.session.scalars(
        select(StripeLink.tenant_id).join(Tenant, Tenant.id == StripeLink.tenant_id)
        .where(StripeLink.kind == "customer", Tenant.is_active.is_(True),
               StripeLink.tenant_id.not_in(with_account))
        .group_by(StripeLink.tenant_id).order_by(StripeLink.tenant_id)))


# --- the worker's side --------------------------------------------------------------

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["event_id"],
          "properties": {"event_id": {"type": "string", "minLength": 1, "maxLength": 255}}}


@job_type(PROCESS_EVENT, schema=SCHEMA, queue="payments", creatable=False, flow_keys=stripe_flow_keys,
          retry=RetryPolicy(max_attempts=8, base_delay=5.0, max_delay=900.0),
          description="Apply one Stripe webhook event to the tenant's invoices (internal).")
def process_event(ctx: JobContext) -> dict[str, Any]:
    settings = stripe_settings.require_for_job()
    event = db.session.get(StripeEvent, ctx.payload["event_id"])
    if event is None:
        raise PermanentError("The Stripe event is not in the inbox.", code="STRIPE_EVENT_MISSING")
    applier = invoice_sync.APPLIERS.get(event.type)
    if applier is None:
        return {"event": event.id, "ignored": event.type}
    try:
        result = applier(ctx.tenant_id, event, settings)
    except stripe_api.StripeError as exc:
        db.session.rollback()
        raise stripe_settings.job_error(exc) from None
    event.status, event.processed_at, event.result = "processed", utcnow(), result
    jobs.commit_and_dispatch()  # with any job a listener or a payout reconciliation queued
    return {"event": event.id, "type": event.type, **result}


# --- housekeeping -------------------------------------------------------------------

# Nothing will apply these again. `queued` stays until its jobs have applied it
# (or failed, and may be retried from the jobs API); `received` is never
# committed on its own.
SETTLED = ("processed", "ignored", "unrouted")


def purge_settled(older_than: timedelta, batch: int = 1000) -> int:
    """Delete settled events received (and processed) before the cutoff, `batch` rows per
    transaction; returns how many. Commits.

    No table has a foreign key to the inbox; jobs name an event in their payload
    only. A payout event gets one job per platform tenant and the first to finish
    marks it processed, so an event also stays while any of its jobs has not
    succeeded (queued, retrying, or failed and retryable until the job itself is
    purged after JOB_RETENTION_DAYS). A purged event that Stripe sent again would
    be stored and applied again, which changes nothing: applying is idempotent.
    """
    cutoff = utcnow() - older_than
    unsettled_job = (select(Job.id).where(Job.type == PROCESS_EVENT, Job.status != "succeeded",
                                          Job.payload["event_id"].as_string() == StripeEvent.id)
                     .exists())
    doomed = (select(StripeEvent.id)
              .where(StripeEvent.status.in_(SETTLED), StripeEvent.received_at < cutoff,
                     or_(StripeEvent.processed_at.is_(None), StripeEvent.processed_at < cutoff),
                     ~unsettled_job)
              .order_by(StripeEvent.received_at).limit(batch)
              .with_for_update(skip_locked=True))  # a second beat takes other rows
    total = 0
    while True:
        deleted = db.session.execute(
            StripeEvent.__table__.delete().where(StripeEvent.id.in_(doomed))).rowcount
        db.session.commit()
        total += deleted
        if deleted < batch:
            break
    if total:
        log.info("purged %d settled Stripe events older than %d days", total, older_than.days)
    return total
