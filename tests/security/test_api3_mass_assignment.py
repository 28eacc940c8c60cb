"""API3:2023 Broken Object Property Level Authorization (mass assignment).

Fields a caller must never set (tenant, staff flag, status, ids, authorship, attempt
counts) are refused as unknown fields (422) on every create and update endpoint, and
the stored object is unchanged. Excessive data exposure: secrets are never read back.
"""
from __future__ import annotations

import uuid

import pytest

from tests.security.conftest import HOOK_URL, SOURCE_URL
from tests.support.helpers import PASSWORD

FORBIDDEN_FIELDS = {"tenant_id": str(uuid.uuid4()), "is_staff": True, "status": "succeeded",
                    "id": str(uuid.uuid4()), "created_by": str(uuid.uuid4()), "attempts": 99,
                    "tenant": {"tier": "enterprise"}, "api_key_id": str(uuid.uuid4())}

# (method, path, valid body, kind of object to read back); {id} is filled from `tenants`.
WRITES = [
    ("POST", "/api/v1/auth/register", lambda: {"tenant_name": "T", "name": "N", "password": PASSWORD,
                                               "email": f"r-{uuid.uuid4().hex[:8]}@example.com"}, None),
    ("POST", "/api/v1/users", lambda: {"email": f"u-{uuid.uuid4().hex[:8]}@example.com", "name": "U",
                                       "password": PASSWORD}, None),
    ("PATCH", "/api/v1/users/{user}", lambda: {"name": "Renamed"}, "/api/v1/users/{user}"),
    ("POST", "/api/v1/api-keys", lambda: {"name": "k"}, None),
    ("POST", "/api/v1/jobs", lambda: {"type": "demo.sleep", "payload": {"seconds": 0}}, None),
    ("POST", "/api/v1/webhook-endpoints", lambda: {"url": HOOK_URL, "events": ["job.failed"]}, None),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint}", lambda: {"description": "d"},
     "/api/v1/webhook-endpoints/{endpoint}"),
    ("POST", "/api/v1/emails", lambda: {"to": ["a@example.com"], "subject": "s", "text": "t"}, None),
    ("POST", "/api/v1/files/presign", lambda: {"filename": "a.txt", "content_type": "text/plain",
                                               "size": 3}, None),
    ("POST", "/api/v1/invoices", lambda: {"number": "INV-" + uuid.uuid4().hex[:6], "customer_ref": "c",
                                          "amount": 5, "currency": "eur", "due_date": "2026-12-01"}, None),
    ("POST", "/api/v1/payments/reconciliations", lambda: {"from": "2026-10-01T00:00:00Z",
                                                          "to": "2026-10-02T00:00:00Z"}, None),
    ("POST", "/api/v1/payments/stripe-links", lambda: {"kind": "customer",
                                                       "stripe_id": "cus_" + uuid.uuid4().hex[:10]}, None),
    ("POST", "/api/v1/payments/customers", lambda: {"name": "C"}, None),
    ("POST", "/api/v1/connections", lambda: {"connector": "rest", "name": "C",
                                             "config": {"url": SOURCE_URL}}, None),
    ("PATCH", "/api/v1/connections/{connection}", lambda: {"name": "Renamed"},
     "/api/v1/connections/{connection}"),
]


@pytest.mark.parametrize("method, path, body, read_back", WRITES, ids=[f"{m} {p}" for m, p, *_ in WRITES])
def test_privileged_fields_are_refused_and_nothing_changes(tenant, method, path, body, read_back):
    victim = tenant
    owner = victim.owner
    path = path.format(**victim.ids)
    before = owner.get(read_back.format(**victim.ids)).get_json()["data"] if read_back else None
    for name, value in FORBIDDEN_FIELDS.items():
        resp = owner.client.open(path, method=method, json={**body(), name: value}, headers=owner.headers)
        assert resp.status_code == 422, (name, resp.get_json())
        assert name in resp.get_json()["details"]["fields"]["json"], resp.get_json()
    if read_back:
        after = owner.get(read_back.format(**victim.ids)).get_json()["data"]
        assert after == before


def test_job_payload_cannot_smuggle_fields_past_the_type_schema(tenant):
    owner = tenant.owner
    resp = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                            "payload": {"seconds": 0, "tenant_id": str(uuid.uuid4())}})
    assert resp.status_code == 422


def test_member_cannot_raise_own_role(tenant):
    victim = tenant
    me = victim.member
    resp = me.patch(f"/api/v1/users/{me.user['id']}", json={"role": "owner"})
    assert resp.status_code == 403
    assert victim.owner.get(f"/api/v1/users/{me.user['id']}").get_json()["data"]["role"] == "member"


def test_secrets_are_shown_once_and_never_read_back(tenant):
    victim = tenant
    owner = victim.owner
    listed = str(owner.get("/api/v1/api-keys").get_json()) + str(
        owner.get(f"/api/v1/webhook-endpoints/{victim.ids['endpoint']}").get_json()) + str(
        owner.get("/api/v1/webhook-endpoints").get_json()) + str(owner.get("/api/v1/users").get_json())
    listed += str(owner.get("/api/v1/connections").get_json()) + str(
        owner.get(f"/api/v1/connections/{victim.ids['connection']}").get_json())
    assert victim.secrets["api_key"] not in listed
    assert "sk-connection-secret" not in listed
    assert victim.secrets["webhook"] not in listed
    assert "password" not in listed
