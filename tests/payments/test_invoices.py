"""Invoices and Stripe links through the API: validation, scoping, audit, 503 without Stripe."""
from __future__ import annotations

import pytest

from tests.payments.helpers import create_invoice
from tests.support.helpers import assert_error


@pytest.fixture
def owner(register):
    return register()


def test_create_invoice_is_audited_and_links_no_customer(owner, fake_stripe, stripe_config):
    invoice = create_invoice(owner, number="INV-1", amount=4_200, currency="EUR",
                             stripe_customer_id="cus_A1", stripe_payment_intent_id="pi_A1")
    assert invoice["status"] == "open" and invoice["currency"] == "eur" and invoice["amount"] == 4_200
    assert invoice["amount_paid"] == 0 and invoice["stripe_payment_intent_id"] == "pi_A1"
    got = owner.get(f"/api/v1/invoices/{invoice['id']}").get_json()["data"]
    assert got == invoice
    links = owner.get("/api/v1/payments/stripe-links").get_json()["data"]
    assert links == []  # a customer is linked only with proof (test_stripe_links.py)
    audit = owner.get("/api/v1/audit-events?action=invoice.created").get_json()["data"]
    assert [(e["object_id"], e["details"]["number"]) for e in audit] == [(invoice["id"], "INV-1")]


def test_invoices_work_without_stripe_but_payments_say_it_is_not_configured(owner):
    invoice = create_invoice(owner, stripe_customer_id="cus_B1")
    assert owner.get(f"/api/v1/invoices/{invoice['id']}").status_code == 200
    for resp in (owner.post("/api/v1/payments/reconciliations",
                            json={"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
                 owner.get("/api/v1/payments/reconciliations"),
                 owner.get("/api/v1/payments/stripe-links")):
        body = assert_error(resp, 503, "SERVICE_UNAVAILABLE")
        assert "Stripe is not configured" in body["message"]


@pytest.mark.parametrize("field,value", [("amount", 0), ("amount", "12"), ("currency", "euro"),
                                         ("due_date", "tomorrow"), ("stripe_customer_id", "acct_1"),
                                         ("stripe_payment_intent_id", "pi_bad id"), ("status", "paid")])
def test_bad_invoice_fields_are_422(owner, field, value):
    body = {"number": "X-1", "customer_ref": "c", "amount": 100, "currency": "eur",
            "due_date": "2026-11-30", field: value}
    resp = owner.post("/api/v1/invoices", json=body)
    err = assert_error(resp, 422, "VALIDATION_ERROR")
    assert field in err["details"]["fields"]["json"]


def test_number_is_unique_per_tenant(register):
    alice, bob = register(), register()
    create_invoice(alice, number="INV-7", stripe_customer_id="cus_shared")
    assert_error(alice.post("/api/v1/invoices", json={
        "number": "INV-7", "customer_ref": "c", "amount": 1, "currency": "eur", "due_date": "2026-01-01"}),
        409, "CONFLICT")
    create_invoice(bob, number="INV-7")  # another tenant may use the same number


def test_another_tenants_invoice_is_404_and_lists_are_scoped(register):
    alice, bob = register(), register()
    invoice = create_invoice(alice, number="A-1")
    assert_error(bob.get(f"/api/v1/invoices/{invoice['id']}"), 404, "NOT_FOUND")
    assert bob.get("/api/v1/invoices").get_json()["data"] == []
    assert [i["number"] for i in alice.get("/api/v1/invoices").get_json()["data"]] == ["A-1"]


def test_list_filters_and_paginates(owner):
    for n, (due, status) in enumerate([("2026-10-01", "open"), ("2026-10-15", "draft"),
                                       ("2026-11-01", "open")]):
        create_invoice(owner, number=f"N-{n}", due_date=due, status=status)
    resp = owner.get("/api/v1/invoices?status=open&per_page=1")
    body = resp.get_json()
    assert [i["number"] for i in body["data"]] == ["N-2"]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 1, "total": 2, "pages": 2}
    window = owner.get("/api/v1/invoices?due_after=2026-10-02&due_before=2026-11-01").get_json()["data"]
    assert [i["number"] for i in window] == ["N-1"]
    assert_error(owner.get("/api/v1/invoices?status=paidish"), 422, "VALIDATION_ERROR")


def test_idempotency_key_replays_the_created_invoice(owner):
    body = {"number": "IDEM-1", "customer_ref": "c", "amount": 10, "currency": "eur",
            "due_date": "2026-12-01"}
    first = owner.post("/api/v1/invoices", json=body, headers={"Idempotency-Key": "k-1"})
    again = owner.post("/api/v1/invoices", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
