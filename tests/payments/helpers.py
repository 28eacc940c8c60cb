"""Building blocks for payments tests: a tenant with a Stripe customer, an invoice, its payment."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import stripe_data as sd


def link_directly(app, tenant_id: str, kind: str, stripe_id: str) -> None:
    """Set-up: a link as the hub would make it once ownership is proven (an account by
    staff, a customer by its metadata), written straight to the database. The API's
    rules for making links are tested in test_stripe_links.py."""
    import uuid

    from hub.extensions import db
    from hub.services.payments.invoices import ensure_link

    with app.app_context():
        ensure_link(uuid.UUID(tenant_id), kind, stripe_id)
        db.session.commit()


@dataclass
class Paid:
    """An invoice of the hub and the Stripe objects that paid it (in the fake)."""

    invoice: dict[str, Any]      # as the API returned it
    customer: str
    payment_intent: dict[str, Any]
    charge: dict[str, Any]
    stripe_invoice: dict[str, Any]


def create_invoice(account, **fields) -> dict[str, Any]:
    body = {"number": "INV-" + secrets.token_hex(4), "customer_ref": "c-1", "amount": 12_500,
            "currency": "eur", "due_date": "2026-11-30", **fields}
    resp = account.post("/api/v1/invoices", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def paid_invoice(account, fake, *, amount: int = 12_500, refunded: int = 0,
                 customer: str | None = None, at: int | None = None) -> Paid:
    """A hub invoice (linked by Stripe invoice id) and, in the fake, its final Stripe state:
    paid by one payment intent / charge, partly refunded if `refunded`."""
    customer = customer or sd.new_id("cus")
    now = at or int(time.time()) - 600
    pi_id, ch_id, in_id = sd.new_id("pi"), sd.new_id("ch"), sd.new_id("in")
    fake.put(sd.customer(customer, tenant_id=account.tenant["id"]))
    link_directly(account.client.application, account.tenant["id"], "customer", customer)
    pi = fake.put(sd.payment_intent(pi_id, amount, "eur", customer, now, latest_charge=ch_id))
    ch = fake.put(sd.charge(ch_id, amount, "eur", customer, now + 1, payment_intent_id=pi_id,
                            amount_refunded=refunded))
    inv = fake.put(sd.invoice(in_id, customer, amount, "eur", now - 60, status="paid", amount_paid=amount,
                              attempt_count=1, payment_intents=[pi_id]))
    invoice = create_invoice(account, amount=amount, stripe_customer_id=customer, stripe_invoice_id=in_id)
    return Paid(invoice=invoice, customer=customer, payment_intent=pi, charge=ch, stripe_invoice=inv)
