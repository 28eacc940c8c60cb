"""Invoices and the Stripe customer/account links that say which tenant owns what."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.errors import Conflict, NotFound
from hub.extensions import db
from hub.models.base import paginate
from hub.models.payment import Invoice, StripeLink
from hub.services import audit

STRIPE_ID_FIELDS = ("stripe_customer_id", "stripe_invoice_id", "stripe_payment_intent_id",
                    "stripe_charge_id")


def tenant_for(kind: str, stripe_id: str | None) -> uuid.UUID | None:
    """The tenant a Stripe customer or connected account belongs to, if any."""
    if not stripe_id:
        return None
    return db.session.scalar(select(StripeLink.tenant_id).where(
        StripeLink.kind == kind, StripeLink.stripe_id == stripe_id))


def ensure_link(tenant_id: uuid.UUID, kind: str, stripe_id: str,
                created_by: uuid.UUID | None = None) -> tuple[StripeLink, bool]:
    """Link a Stripe id to the tenant (in the caller's transaction); (link, created).

    Conflict if another tenant already holds it (without saying which).
    """
    link = db.session.scalar(select(StripeLink).where(StripeLink.kind == kind,
                                                      StripeLink.stripe_id == stripe_id))
    if link is not None:
        if link.tenant_id != tenant_id:
            raise Conflict(f"This Stripe {kind} is linked to another tenant.")
        return link, False
    link = StripeLink(tenant_id=tenant_id, kind=kind, stripe_id=stripe_id, created_by=created_by)
    try:
        with db.session.begin_nested():
            db.session.add(link)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"This Stripe {kind} is linked to another tenant.") from None
    return link, True


def add_link(actor: audit.Actor, kind: str, stripe_id: str) -> StripeLink:
    """Admin: link a Stripe customer or connected account to the caller's tenant."""
    link, created = ensure_link(actor.tenant_id, kind, stripe_id, actor.user_id)
    if created:
        audit.record(actor, "stripe_link.created", "stripe_link", link.id,
                     {"kind": kind, "stripe_id": stripe_id})
    db.session.commit()
    return link


def list_links(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[StripeLink], int]:
    query = select(StripeLink).where(StripeLink.tenant_id == tenant_id)
    return paginate(query, page, per_page, StripeLink.created_at, StripeLink.id)


def delete_link(actor: audit.Actor, link_id: uuid.UUID) -> None:
    link = db.session.get(StripeLink, link_id)
    if link is None or link.tenant_id != actor.tenant_id:
        raise NotFound("Stripe link not found.")
    audit.record(actor, "stripe_link.deleted", "stripe_link", link.id,
                 {"kind": link.kind, "stripe_id": link.stripe_id})
    db.session.delete(link)
    db.session.commit()


def create_invoice(actor: audit.Actor, data: dict[str, Any]) -> Invoice:
    """Create an invoice; its Stripe customer becomes the tenant's (Conflict if another's)."""
    tenant_id = actor.tenant_id
    if db.session.scalar(select(Invoice.id).where(Invoice.tenant_id == tenant_id,
                                                  Invoice.number == data["number"])):
        raise Conflict(f"Invoice number {data['number']!r} is already used.")
    if data.get("stripe_customer_id"):
        ensure_link(tenant_id, "customer", data["stripe_customer_id"], actor.user_id)
    invoice = Invoice(id=uuid.uuid4(), tenant_id=tenant_id, number=data["number"],
                      customer_ref=data["customer_ref"], amount=data["amount"],
                      currency=data["currency"].lower(), due_date=data["due_date"],
                      status=data.get("status") or "open", description=data.get("description"),
                      created_by=actor.user_id,
                      **{name: data.get(name) for name in STRIPE_ID_FIELDS})
    db.session.add(invoice)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"Invoice number {data['number']!r} is already used.") from None
    audit.record(actor, "invoice.created", "invoice", invoice.id,
                 {"number": invoice.number, "amount": invoice.amount, "currency": invoice.currency})
    db.session.commit()
    return invoice


def get_invoice(tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.tenant_id != tenant_id:
        raise NotFound("Invoice not found.")
    return invoice


def list_invoices(tenant_id: uuid.UUID, page: int, per_page: int, *, status: str | None = None,
                  customer_ref: str | None = None, due_after: date | None = None,
                  due_before: date | None = None) -> tuple[list[Invoice], int]:
    """The tenant's invoices, latest due first."""
    query = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if status:
        query = query.where(Invoice.status == status)
    if customer_ref:
        query = query.where(Invoice.customer_ref == customer_ref)
    if due_after:
        query = query.where(Invoice.due_date >= due_after)
    if due_before:
        query = query.where(Invoice.due_date < due_before)
    return paginate(query, page, per_page, Invoice.due_date.desc(), Invoice.number.desc())
