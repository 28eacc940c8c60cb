"""Invoices and the Stripe customer/account links that say which tenant owns what.

A link needs proof of ownership, because the hub reads Stripe for a tenant and
routes events to it through its links: a connected account is linked by hub
staff only; a customer only if the hub created it for the tenant
(`create_customer`) or its Stripe `metadata.hub_tenant_id` is the tenant's id,
read from Stripe at link time. An invoice never links anything.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.extensions import db
from hub.integrations import stripe_api
from hub.integrations.stripe_api import StripeError, StripeRequestError, StripeSettings
from hub.models import Tenant
from hub.models.base import paginate
from hub.models.payment import Invoice, StripeLink
from hub.services.payments import stripe_settings
from hub.web.errors import Conflict, Forbidden, NotFound

STRIPE_ID_FIELDS = ("stripe_customer_id", "stripe_invoice_id", "stripe_payment_intent_id",
                    "stripe_charge_id")


def tenant_for(kind: str, stripe_id: str | None) -> uuid.UUID | None:
    """The tenant a Stripe customer or connected account belongs to, if any."""
    if not stripe_id:
        return None
    return db.session.scalar(select(StripeLink.tenant_id).where(
        StripeLink.kind == kind, StripeLink.stripe_id == stripe_id))


def stripe_flow_keys(payload: Any, tenant_id: uuid.UUID) -> list[str]:
    """The flow-control key of the Stripe account a tenant's payment jobs call: its
    connected account, else the platform's (FLOW_LIMITS `stripe:*` paces each)."""
    account = db.session.scalar(select(StripeLink.stripe_id).where(
        StripeLink.tenant_id == tenant_id, StripeLink.kind == "account").limit(1))
    return [f"stripe:{account or 'platform'}"]


def ensure_link(tenant_id: uuid.UUID, kind: str, stripe_id: str,
                created_by: uuid.UUID | None = None) -> tuple[StripeLink, bool]:
    """Link a Stripe id to the tenant (in the caller's transaction); (link, created).

    Conflict if another tenant already holds it. Callers check ownership first, so
    only the proven owner (or staff) can ever see the Conflict, and its message does
    not say who holds the id.
    """
    link = db.session.scalar(select(StripeLink).where(StripeLink.kind == kind,
                                                      StripeLink.stripe_id == stripe_id))
    if link is not None:
        if link.tenant_id != tenant_id:
            raise _not_linkable(kind)
        return link, False
    link = StripeLink(tenant_id=tenant_id, kind=kind, stripe_id=stripe_id, created_by=created_by)
    try:
        with db.session.begin_nested():
            db.session.add(link)
            db.session.flush()
    except IntegrityError:
        raise _not_linkable(kind) from None
    return link, True


def _not_linkable(kind: str) -> Conflict:
    return Conflict(f"This Stripe {kind} cannot be linked to this tenant; ask the hub's operators.")


def _prove_customer(settings: StripeSettings, tenant_id: uuid.UUID, stripe_id: str) -> None:
    """Forbidden unless the Stripe customer's `metadata.hub_tenant_id` is this tenant's id.

    An unknown or deleted customer gets the same answer as another party's.
    """
    try:
        customer = stripe_api.retrieve(settings, "customer", stripe_id)
    except StripeRequestError as exc:
        if exc.status != 404:
            raise stripe_settings.api_error(exc) from None
        customer = {}
    except StripeError as exc:
        raise stripe_settings.api_error(exc) from None
    metadata = customer.get("metadata") if not customer.get("deleted") else None
    if not isinstance(metadata, dict) or metadata.get("hub_tenant_id") != str(tenant_id):
        raise Forbidden(
            "The hub cannot tell this Stripe customer is yours. Prove it: in Stripe, set the "
            f"customer's metadata hub_tenant_id to {tenant_id} and link it again; or create "
            "customers through POST /payments/customers, which does that for you.",
            details={"stripe_id": stripe_id, "required_metadata": {"hub_tenant_id": str(tenant_id)}})


def add_link(actor: audit.Actor, kind: str, stripe_id: str, settings: StripeSettings, *,
             is_staff: bool = False, tenant_id: uuid.UUID | None = None) -> StripeLink:
    """Link a Stripe customer or connected account to a tenant, once its ownership is proven.

    Connected accounts: hub staff only. Customers: see `_prove_customer`. Staff may
    name another tenant (`tenant_id`); everyone else links to their own. Commits.
    """
    target = tenant_id or actor.tenant_id
    if target != actor.tenant_id:
        if not is_staff:
            raise Forbidden("Only hub staff can link Stripe objects to another tenant.")
        if db.session.get(Tenant, target) is None:
            raise NotFound("Tenant not found.")
    if kind == "account" and not is_staff:
        raise Forbidden("Connected accounts are linked by hub staff only: ask the hub's operators "
                        "to link this account to your tenant.")
    if kind == "customer":
        _prove_customer(settings, target, stripe_id)
    link, created = ensure_link(target, kind, stripe_id, actor.user_id)
    if created:
        audit.record(actor, "stripe_link.created", "stripe_link", link.id,
                     {"kind": kind, "stripe_id": stripe_id}, tenant_id=target)
    db.session.commit()
    return link


def create_customer(actor: audit.Actor, data: dict[str, Any], settings: StripeSettings,
                    idempotency_key: str) -> StripeLink:
    """Create a Stripe customer that carries the tenant's id in `metadata.hub_tenant_id`, and
    link it. Commits.

    Stripe gets `idempotency_key`, so a retry of the same request reuses the customer. If
    the link cannot be stored after Stripe made the customer, the customer still carries
    the metadata and can be linked with `add_link`.
    """
    try:
        customer = stripe_api.create_customer(
            settings, metadata={"hub_tenant_id": str(actor.tenant_id)}, name=data.get("name"),
            email=data.get("email"), description=data.get("description"),
            idempotency_key=f"hub-customer-{actor.tenant_id}-{idempotency_key}")
    except StripeError as exc:
        raise stripe_settings.api_error(exc) from None
    link, _created = ensure_link(actor.tenant_id, "customer", customer["id"], actor.user_id)
    audit.record(actor, "stripe_customer.created", "stripe_link", link.id,
                 {"stripe_id": customer["id"]})
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
    """Create an invoice. Its Stripe ids are references only: linking a customer needs proof
    of ownership (`add_link`, `create_customer`), so an invoice never links one."""
    tenant_id = actor.tenant_id
    if db.session.scalar(select(Invoice.id).where(Invoice.tenant_id == tenant_id,
                                                  Invoice.number == data["number"])):
        raise Conflict(f"Invoice number {data['number']!r} is already used.")
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
