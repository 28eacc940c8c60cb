"""API keys: shown once, stored hashed, usable as X-API-Key, revocable."""
from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import ApiKey
from tests.support.helpers import assert_error


def test_key_is_shown_once_and_authenticates(app, client, register):
    owner = register()
    created = owner.post("/api/v1/api-keys", json={"name": "billing sync"})
    assert created.status_code == 201
    data = created.get_json()["data"]
    key = data["key"]
    assert key.startswith("hub_") and data["role"] == "member"
    listed = owner.get("/api/v1/api-keys").get_json()["data"]
    assert [k["id"] for k in listed] == [data["id"]]
    assert "key" not in listed[0] and "key_hash" not in listed[0]
    with app.app_context():
        row = db.session.scalar(select(ApiKey))
        assert key not in (row.key_hash, row.prefix)  # only a hash is stored
    # A member-role key works on member endpoints; admin-only ones are 403.
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert_error(client.get("/api/v1/users", headers={"X-API-Key": key}), 403, "FORBIDDEN")


def test_admin_key_can_manage_users_of_its_tenant_only(client, register):
    owner = register()
    other = register()
    key = owner.post("/api/v1/api-keys", json={"name": "provisioning", "role": "admin"}
                     ).get_json()["data"]["key"]
    users = client.get("/api/v1/users", headers={"X-API-Key": key})
    assert users.status_code == 200
    assert [u["id"] for u in users.get_json()["data"]] == [owner.user["id"]]
    assert_error(client.get(f"/api/v1/users/{other.user['id']}", headers={"X-API-Key": key}),
                 404, "NOT_FOUND")


def test_key_cannot_mint_keys(client, register):
    owner = register()
    key = owner.post("/api/v1/api-keys", json={"name": "k", "role": "admin"}).get_json()["data"]["key"]
    assert_error(client.post("/api/v1/api-keys", json={"name": "k2"}, headers={"X-API-Key": key}),
                 401, "UNAUTHORIZED")


def test_revoked_or_wrong_key_is_unauthorized(client, register):
    owner = register()
    data = owner.post("/api/v1/api-keys", json={"name": "k", "role": "admin"}).get_json()["data"]
    assert owner.delete(f"/api/v1/api-keys/{data['id']}").status_code == 200
    assert_error(client.get("/api/v1/users", headers={"X-API-Key": data["key"]}),
                 401, "UNAUTHORIZED")
    assert_error(owner.delete(f"/api/v1/api-keys/{data['id']}"), 404, "NOT_FOUND")
    forged = data["key"][:-3] + "abc"
    assert_error(client.get("/api/v1/users", headers={"X-API-Key": forged}), 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/users", headers={"X-API-Key": "nonsense"}),
                 401, "UNAUTHORIZED")


def test_other_tenants_key_cannot_be_revoked(register):
    a, b = register(), register()
    key_id = b.post("/api/v1/api-keys", json={"name": "k"}).get_json()["data"]["id"]
    assert_error(a.delete(f"/api/v1/api-keys/{key_id}"), 404, "NOT_FOUND")
    assert [k["id"] for k in b.get("/api/v1/api-keys").get_json()["data"]] == [key_id]


def test_owner_role_keys_are_refused(register):
    owner = register()
    assert_error(owner.post("/api/v1/api-keys", json={"name": "k", "role": "owner"}),
                 422, "VALIDATION_ERROR")
