"""Applying Stripe events to invoices: re-read the object, check the tenant, merge the state.

Stripe's counters (received, refunded, attempts) only grow, so merging with
max() makes applying commutative and idempotent: events processed late, out of
order or twice leave the same invoice. The tenant is checked again on the
object as Stripe returns it now, through `stripe_links` only.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Callable

from sqlalchemy import or_, select

from hub.extensions import db
from hub.integrations import stripe_api
from hub.jobs import events
from hub.models.payment import Invoice, StripeEvent
from hub.services.payments.invoices import tenant_for

log = logging.getLogger(__name__)


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


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
    from hub.services.payments import reconciliation  # the reconciliation module imports this one's helpers

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
