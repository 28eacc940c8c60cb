"""Stripe webhooks: the inbox (each event once), routing to tenants, and applying events.

The endpoint only verifies, stores and queues (`receive`); a worker applies the
event (`payments.process_event`). Applying re-reads the object from Stripe
instead of trusting the payload, and merges what Stripe says into the invoice
with max() on counters that only grow (received, refunded, attempts), so
events that arrive late, out of order or twice leave the same invoice behind.
Which tenant an event concerns comes from `stripe_links` (connected account,
else customer), never from the payload alone; the worker checks it again on
the fresh object.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Callable

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from hub import events, jobs
from hub.errors import BadRequest, ServiceUnavailable
from hub.extensions import db
from hub.integrations import stripe_api
from hub.jobtypes import JobContext, PermanentError, RetryPolicy, job_type
from hub.models import Tenant, utcnow
from hub.models.payment import Invoice, StripeEvent, StripeLink
from hub.services import stripe_settings
from hub.services.invoices import tenant_for

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
    jobs.commit()
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


@job_type(PROCESS_EVENT, schema=SCHEMA, queue="payments", creatable=False,
          retry=RetryPolicy(max_attempts=8, base_delay=5.0, max_delay=900.0),
          description="Apply one Stripe webhook event to the tenant's invoices (internal).")
def process_event(ctx: JobContext) -> dict[str, Any]:
    settings = stripe_settings.require_for_job()
    event = db.session.get(StripeEvent, ctx.payload["event_id"])
    if event is None:
        raise PermanentError("The Stripe event is not in the inbox.", code="STRIPE_EVENT_MISSING")
    applier = APPLIERS.get(event.type)
    if applier is None:
        return {"event": event.id, "ignored": event.type}
    try:
        result = applier(ctx.tenant_id, event, settings)
    except stripe_api.StripeError as exc:
        db.session.rollback()
        raise stripe_settings.job_error(exc) from None
    event.status, event.processed_at, event.result = "processed", utcnow(), result
    jobs.commit()  # with any job a listener or a payout reconciliation queued
    return {"event": event.id, "type": event.type, **result}


def _owned(tenant_id: uuid.UUID, account: str | None, customer: str | None) -> bool:
    """Does the freshly read object belong to this tenant, by the links table?"""
    if account:
        return tenant_for("account", account) == tenant_id
    return customer is not None and tenant_for("customer", customer) == tenant_id


def _find_invoice(tenant_id: uuid.UUID, *, charge: str | None = None, payment_intent: str | None = None,
                  stripe_invoice: str | None = None, hub_invoice_id: str | None = None) -> Invoice | None:
    conditions = []
    if charge:
        conditions.append(Invoice.stripe_charge_id == charge)
    if payment_intent:
        conditions.append(Invoice.stripe_payment_intent_id == payment_intent)
    if stripe_invoice:
        conditions.append(Invoice.stripe_invoice_id == stripe_invoice)
    try:
        if hub_invoice_id:
            conditions.append(Invoice.id == uuid.UUID(str(hub_invoice_id)))
    except ValueError:
        pass
    if not conditions:
        return None
    # Locked: two workers applying events of one invoice take turns.
    return db.session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id, or_(*conditions))
                              .order_by(Invoice.created_at).limit(1).with_for_update()).first()


def derive_status(invoice: Invoice) -> str:
    if invoice.voided:
        return "void"
    net = invoice.amount_paid - invoice.amount_refunded
    if net >= invoice.amount:
        return "paid"
    if net > 0:
        return "partially_paid"
    if invoice.amount_paid > 0 or invoice.status in ("paid", "partially_paid"):
        return "open"  # paid, then refunded
    return invoice.status


def apply_state(invoice: Invoice, *, currency: str | None, received: int | None = None,
                refunded: int | None = None, voided: bool = False, paid_at: int | None = None,
                attempts: int | None = None, ids: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Merge what Stripe says into the invoice; idempotent and order-independent."""
    if currency and currency.lower() != invoice.currency:
        log.warning("invoice %s is in %s, Stripe says %s: not applied", invoice.id, invoice.currency,
                    currency)
        return {"invoice": str(invoice.id), "applied": False, "reason": "currency_mismatch"}
    for name, value in (ids or {}).items():
        if value and not getattr(invoice, name):
            setattr(invoice, name, value)
    if received is not None:
        invoice.amount_paid = max(invoice.amount_paid, int(received))
    if refunded is not None:
        invoice.amount_refunded = max(invoice.amount_refunded, int(refunded))
    if attempts is not None:
        invoice.payment_attempts = max(invoice.payment_attempts, int(attempts))
    invoice.voided = invoice.voided or voided
    if paid_at and (received or 0) > 0:
        when = datetime.fromtimestamp(paid_at, UTC)
        invoice.paid_at = min(invoice.paid_at, when) if invoice.paid_at else when
    was, invoice.status = invoice.status, derive_status(invoice)
    if invoice.status == "paid" and was != "paid":
        events.publish(invoice.tenant_id, "invoice.paid", invoice_event_data(invoice))
    return {"invoice": str(invoice.id), "applied": True, "status": invoice.status, "was": was}


def invoice_event_data(invoice: Invoice) -> dict[str, Any]:
    """The body of the `invoice.paid` domain event."""
    return {"id": str(invoice.id), "number": invoice.number, "customer_ref": invoice.customer_ref,
            "amount": invoice.amount, "currency": invoice.currency, "amount_paid": invoice.amount_paid,
            "status": invoice.status, "stripe_invoice_id": invoice.stripe_invoice_id,
            "stripe_payment_intent_id": invoice.stripe_payment_intent_id,
            "paid_at": invoice.paid_at.isoformat().replace("+00:00", "Z") if invoice.paid_at else None}


def _not_ours(kind: str) -> dict[str, Any]:
    return {"applied": False, "reason": f"the {kind} is not linked to this tenant"}


def _no_invoice() -> dict[str, Any]:
    return {"applied": False, "reason": "no invoice of this tenant refers to it"}


def _apply_payment_intent(tenant_id: uuid.UUID, event: StripeEvent, settings) -> dict[str, Any]:
    pi = stripe_api.retrieve(settings, "payment_intent", event.object_id, account=event.account)
    if not _owned(tenant_id, event.account, _id(pi.get("customer"))):
        return _not_ours("payment intent")
    charge = _id(pi.get("latest_charge"))
    invoice = _find_invoice(tenant_id, payment_intent=pi["id"], charge=charge,
                            hub_invoice_id=(pi.get("metadata") or {}).get("hub_invoice_id"))
    if invoice is None:
        return _no_invoice()
    succeeded = pi.get("status") == "succeeded"
    return apply_state(invoice, currency=pi.get("currency"),
                       received=pi.get("amount_received") if succeeded else None,
                       paid_at=pi.get("created"),
                       ids={"stripe_payment_intent_id": pi["id"], "stripe_charge_id": charge,
                            "stripe_customer_id": _id(pi.get("customer"))})


def _apply_charge(tenant_id: uuid.UUID, event: StripeEvent, settings) -> dict[str, Any]:
    ch = stripe_api.retrieve(settings, "charge", event.object_id, account=event.account)
    if not _owned(tenant_id, event.account, _id(ch.get("customer"))):
        return _not_ours("charge")
    pi = _id(ch.get("payment_intent"))
    invoice = _find_invoice(tenant_id, charge=ch["id"], payment_intent=pi,
                            stripe_invoice=_id(ch.get("invoice")),
                            hub_invoice_id=(ch.get("metadata") or {}).get("hub_invoice_id"))
    if invoice is None:
        return _no_invoice()
    captured = ch.get("status") == "succeeded" and ch.get("paid")
    return apply_state(invoice, currency=ch.get("currency"),
                       received=ch.get("amount_captured") if captured else None,
                       refunded=ch.get("amount_refunded"), paid_at=ch.get("created"),
                       ids={"stripe_charge_id": ch["id"], "stripe_payment_intent_id": pi,
                            "stripe_customer_id": _id(ch.get("customer"))})


def _apply_invoice(tenant_id: uuid.UUID, event: StripeEvent, settings) -> dict[str, Any]:
    inv = stripe_api.retrieve(settings, "invoice", event.object_id, account=event.account,
                              expand=["payments"])
    if not _owned(tenant_id, event.account, _id(inv.get("customer"))):
        return _not_ours("invoice")
    payment_intents = [_id((p.get("payment") or {}).get("payment_intent"))
                       for p in ((inv.get("payments") or {}).get("data") or [])]
    invoice = _find_invoice(tenant_id, stripe_invoice=inv["id"],
                            hub_invoice_id=(inv.get("metadata") or {}).get("hub_invoice_id"))
    if invoice is None:
        return _no_invoice()
    paid = inv.get("status") == "paid"
    result = apply_state(invoice, currency=inv.get("currency"), received=inv.get("amount_paid"),
                         voided=inv.get("status") == "void", attempts=inv.get("attempt_count"),
                         paid_at=(inv.get("status_transitions") or {}).get("paid_at"),
                         ids={"stripe_invoice_id": inv["id"],
                              "stripe_payment_intent_id": next((p for p in payment_intents if p), None),
                              "stripe_customer_id": _id(inv.get("customer"))})
    if result["applied"]:
        # From Stripe's current state, so the same whichever invoice event came last.
        attempts = inv.get("attempt_count") or 0
        invoice.last_payment_error = None if paid or not attempts else \
            f"Stripe could not collect the payment ({attempts} attempt(s))."
    return result


def _apply_payout(tenant_id: uuid.UUID, event: StripeEvent, settings) -> dict[str, Any]:
    from hub.services import reconciliation  # the reconciliation module imports this one's helpers

    po = stripe_api.retrieve(settings, "payout", event.object_id, account=event.account)
    if event.account and not _owned(tenant_id, event.account, None):
        return _not_ours("payout")
    if po.get("status") != "paid" or po.get("reconciliation_status") != "completed":
        return {"applied": False, "reason": "the payout's transactions are not final yet",
                "payout_status": po.get("status")}
    rec, created = reconciliation.queue_payout(tenant_id, po, event.account)
    return {"applied": True, "reconciliation": str(rec.id), "queued": created}


APPLIERS: dict[str, Callable[..., dict[str, Any]]] = {
    "payment_intent.succeeded": _apply_payment_intent,
    "charge.succeeded": _apply_charge,
    "charge.refunded": _apply_charge,
    "invoice.paid": _apply_invoice,
    "invoice.payment_failed": _apply_invoice,
    "payout.paid": _apply_payout,
    "payout.reconciliation_completed": _apply_payout,
}
