"""Stripe objects need proof of ownership.

Accounts are linked by hub staff only; a customer only if the hub created it for the
tenant (POST /payments/customers) or its Stripe `metadata.hub_tenant_id` is the tenant's
id; an invoice never links one; and nobody learns whether another tenant holds an id.
"""
from __future__ import annotations

import pytest
import stripe_data as sd

from tests.payments.helpers import create_invoice
from tests.support.helpers import assert_error

LINKS = "/api/v1/payments/stripe-links"


@pytest.fixture
def owner(register):
    return register()


def _links(account) -> list[tuple[str, str]]:
    return [(link["kind"], link["stripe_id"]) for link in account.get(LINKS).get_json()["data"]]


def test_a_tenant_cannot_link_a_connected_account_but_staff_can_for_it(owner, add_user, staff,
                                                                        fake_stripe, stripe_config):
    member = add_user(owner, "member")
    assert_error(member.post(LINKS, json={"kind": "account", "stripe_id": "acct_owned1"}), 403, "FORBIDDEN")
    body = assert_error(owner.post(LINKS, json={"kind": "account", "stripe_id": "acct_owned1"}),
                        403, "FORBIDDEN")
    assert "staff" in body["message"]
    # Only staff may name another tenant.
    other = add_user(owner, "admin")
    assert_error(other.post(f"{LINKS}?tenant_id={staff.tenant['id']}",
                            json={"kind": "account", "stripe_id": "acct_owned1"}), 403, "FORBIDDEN")
    made = staff.post(f"{LINKS}?tenant_id={owner.tenant['id']}",
                      json={"kind": "account", "stripe_id": "acct_owned1"})
    assert made.status_code == 201, made.get_json()
    assert _links(owner) == [("account", "acct_owned1")] and _links(staff) == []
    events = owner.get("/api/v1/audit-events?action=stripe_link.created").get_json()["data"]
    assert [e["actor_user_id"] for e in events] == [staff.user["id"]]


def test_a_customer_without_proof_is_403_saying_how_to_prove_it(owner, register, fake_stripe, stripe_config):
    stranger = register()
    fake_stripe.put(sd.customer("cus_noproof"))
    fake_stripe.put(sd.customer("cus_theirs", tenant_id=stranger.tenant["id"]))
    for stripe_id in ("cus_noproof", "cus_theirs", "cus_doesnotexist"):
        body = assert_error(owner.post(LINKS, json={"kind": "customer", "stripe_id": stripe_id}),
                            403, "FORBIDDEN")
        assert "hub_tenant_id" in body["message"] and owner.tenant["id"] in body["message"]
        assert "POST /payments/customers" in body["message"]
        assert body["details"]["required_metadata"] == {"hub_tenant_id": owner.tenant["id"]}
    assert _links(owner) == []


def test_a_customer_whose_metadata_names_the_tenant_is_linked(owner, fake_stripe, stripe_config):
    fake_stripe.put(sd.customer("cus_mine", tenant_id=owner.tenant["id"]))
    resp = owner.post(LINKS, json={"kind": "customer", "stripe_id": "cus_mine"})
    assert resp.status_code == 201, resp.get_json()
    assert ("GET", "/v1/customers/cus_mine", None) in fake_stripe.requests  # read at link time
    assert _links(owner) == [("customer", "cus_mine")]


def test_linking_another_tenants_customer_does_not_reveal_that_it_is_linked(owner, register, fake_stripe,
                                                                           stripe_config):
    victim = register()
    fake_stripe.put(sd.customer("cus_victims", tenant_id=victim.tenant["id"]))
    fake_stripe.put(sd.customer("cus_free", tenant_id=victim.tenant["id"]))
    assert victim.post(LINKS, json={"kind": "customer", "stripe_id": "cus_victims"}).status_code == 201
    held = assert_error(owner.post(LINKS, json={"kind": "customer", "stripe_id": "cus_victims"}),
                        403, "FORBIDDEN")
    free = assert_error(owner.post(LINKS, json={"kind": "customer", "stripe_id": "cus_free"}),
                        403, "FORBIDDEN")
    assert held["message"] == free["message"]
    assert "another tenant" not in held["message"]
    assert _links(victim) == [("customer", "cus_victims")]


def test_post_customers_creates_the_customer_with_the_tenants_id_and_links_it(owner, add_user, fake_stripe,
                                                                            stripe_config):
    resp = owner.post("/api/v1/payments/customers", json={"name": "Ada", "email": "ada@example.com"},
                      headers={"Idempotency-Key": "cust-1"})
    assert resp.status_code == 201, resp.get_json()
    link = resp.get_json()["data"]
    assert link["kind"] == "customer" and link["stripe_id"].startswith("cus_")
    customer = fake_stripe.get(link["stripe_id"])
    assert customer["metadata"] == {"hub_tenant_id": owner.tenant["id"]} and customer["name"] == "Ada"
    again = owner.post("/api/v1/payments/customers", json={"name": "Ada", "email": "ada@example.com"},
                       headers={"Idempotency-Key": "cust-1"})
    assert again.get_json()["data"]["id"] == link["id"]
    assert _links(owner) == [("customer", link["stripe_id"])]
    events = owner.get("/api/v1/audit-events?action=stripe_customer.created").get_json()["data"]
    assert [e["object_id"] for e in events] == [link["id"]]
    assert_error(add_user(owner, "member").post("/api/v1/payments/customers", json={}), 403, "FORBIDDEN")


def test_a_member_cannot_link_a_customer_through_an_invoice(owner, add_user, register, fake_stripe,
                                                           stripe_config):
    victim = register()
    fake_stripe.put(sd.customer("cus_victim2", tenant_id=victim.tenant["id"]))
    assert victim.post(LINKS, json={"kind": "customer", "stripe_id": "cus_victim2"}).status_code == 201
    member = add_user(owner, "member")
    for customer in ("cus_victim2", "cus_unlinked9"):
        invoice = create_invoice(member, stripe_customer_id=customer)  # a reference, nothing more
        assert invoice["stripe_customer_id"] == customer
    assert _links(owner) == [] and _links(victim) == [("customer", "cus_victim2")]


def test_stripe_unreachable_while_linking_is_503(owner, fake_stripe, stripe_config):
    fake_stripe.fail_next(503, count=5)
    body = assert_error(owner.post(LINKS, json={"kind": "customer", "stripe_id": "cus_any1"}),
                        503, "SERVICE_UNAVAILABLE")
    assert "Stripe" in body["message"]
    assert _links(owner) == []
