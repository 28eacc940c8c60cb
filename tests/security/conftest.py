"""Fixtures for the OWASP API Top 10 tests: two tenants with one of every object,
so each test can aim one tenant's caller at the other's ids.

A new resource adds its objects in `build_tenant` and its routes to the tables in
`tests/security/routes.py`; the table-driven tests then cover it, and the OpenAPI
walks fail until it is listed.
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fake_stripe import FakeStripe

from hub.extensions import db
from tests.payments.conftest import WEBHOOK_SECRET
from tests.support.helpers import Account

DEMO_JOB = {"type": "demo.sleep", "payload": {"seconds": 1}}
HOOK_URL = "http://127.0.0.1:9/hook"  # nothing listens: no worker runs in these tests anyway
SOURCE_URL = "http://127.0.0.1:9/items"  # a connection's source; never fetched here
# Stripe configured so the payment routes answer; the fake (tests/payments/fake_stripe.py)
# creates the customers that prove a link's ownership.
STRIPE = {"STRIPE_API_KEY": "sk_test_security_" + "k" * 16, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


@dataclass
class Tenant:
    """One tenant as an attacker would see it from outside: its users' sessions and its ids."""

    owner: Account
    member: Account
    ids: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return self.owner.tenant["id"]


def _data(resp, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["data"]


def make_delivery(app, tenant_id: str, endpoint_id: str, job_status: str | None = None) -> str:
    """A webhook delivery of `job.succeeded` to the tenant's endpoint, as the event listener
    makes it (no worker); `job_status` sets its sending job's state (e.g. "failed")."""
    from hub import jobs
    from hub.models import Job, WebhookDelivery
    from hub.services import webhooks

    with app.app_context():
        queued = webhooks.queue_deliveries(uuid.UUID(tenant_id), "job.succeeded",
                                           {"id": str(uuid.uuid4()), "type": "demo.sleep"})
        delivery = next(d for d in queued if str(d.endpoint_id) == endpoint_id)
        delivery_id = str(delivery.id)
        jobs.commit_and_dispatch()
        if job_status:
            job = db.session.get(Job, db.session.get(WebhookDelivery, delivery.id).job_id)
            job.status = job_status
            db.session.commit()
        return delivery_id


def build_tenant(app, register, add_user) -> Tenant:
    """A tenant with one object of every kind the API serves."""
    owner = register()
    tenant = Tenant(owner=owner, member=add_user(owner, "member"))
    ids = tenant.ids
    ids["user"] = tenant.member.user["id"]
    key = _data(owner.post("/api/v1/api-keys", json={"name": "ci", "role": "admin"}), 201)
    ids["api_key"], tenant.secrets["api_key"] = key["id"], key["key"]
    ids["job"] = _data(owner.post("/api/v1/jobs", json=DEMO_JOB), 202)["id"]
    ids["invitation"] = _data(owner.post("/api/v1/invitations", json={
        "email": f"invitee-{uuid.uuid4().hex[:8]}@example.com"}), 201)["id"]
    failed = _data(owner.post("/api/v1/jobs", json=DEMO_JOB), 202)["id"]
    _data(owner.post(f"/api/v1/jobs/{failed}/cancel"), 200)
    ids["finished_job"] = failed
    ids["email_job"] = _data(owner.post("/api/v1/emails", json={
        "to": ["someone@example.com"], "subject": "Hi", "text": "Hello"}), 202)["id"]
    endpoint = _data(owner.post("/api/v1/webhook-endpoints", json={
        "url": HOOK_URL, "events": ["job.succeeded"]}), 201)
    ids["endpoint"], tenant.secrets["webhook"] = endpoint["id"], endpoint["secret"]
    ids["delivery"] = make_delivery(app, tenant.tenant_id, endpoint["id"], job_status="failed")
    ids["file"] = _data(owner.post("/api/v1/files", data={"file": (io.BytesIO(b"hello\n"), "a.txt",
                                                                    "text/plain")},
                                   content_type="multipart/form-data"), 201)["id"]
    presigned = _data(owner.post("/api/v1/files/presign", json={
        "filename": "b.txt", "content_type": "text/plain", "size": 6}), 201)
    ids["pending_file"], tenant.secrets["upload_url"] = presigned["file"]["id"], presigned["upload"]["url"]
    ids["invoice"] = _data(owner.post("/api/v1/invoices", json={
        "number": "INV-" + uuid.uuid4().hex[:6], "customer_ref": "c-1", "amount": 1250,
        "currency": "eur", "due_date": "2026-11-30"}), 201)["id"]
    ids["reconciliation"] = _data(owner.post("/api/v1/payments/reconciliations", json={
        "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}), 202)["reconciliation_id"]
    ids["stripe_link"] = _data(owner.post("/api/v1/payments/customers", json={"name": "Shop"}), 201)["id"]
    ids["connection"] = _data(owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "Shop", "config": {"url": SOURCE_URL},
        "credentials": {"token": "sk-connection-secret"}}), 201)["id"]
    return tenant


@pytest.fixture(scope="session")
def security_stripe() -> Iterator[FakeStripe]:
    with FakeStripe(api_key=STRIPE["STRIPE_API_KEY"]) as fake:
        yield fake


@pytest.fixture(autouse=True)
def stripe_configured(app, monkeypatch, security_stripe: FakeStripe) -> None:
    for name, value in {**STRIPE, "STRIPE_API_BASE": security_stripe.url}.items():
        monkeypatch.setitem(app.config, name, value)


@pytest.fixture
def tenants(app, register, add_user) -> tuple[Tenant, Tenant]:
    """(victim, attacker): two tenants, each with one object of every kind."""
    return build_tenant(app, register, add_user), build_tenant(app, register, add_user)


@pytest.fixture(scope="session")
def openapi(app) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


def operations(spec: dict[str, Any], prefix: str = "/api/v1/"):
    """(METHOD, path, operation) for every operation under `prefix`."""
    for path, item in spec["paths"].items():
        if not path.startswith(prefix):
            continue
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


@pytest.fixture
def tenant(app, register, add_user) -> Tenant:
    """One tenant with one object of every kind (for tests that need no attacker)."""
    return build_tenant(app, register, add_user)
