"""API keys never outlive their creator's authority."""
from __future__ import annotations

import pytest

from tests.support.helpers import assert_error


@pytest.fixture
def owner(register):
    return register()


def _mint(account, role: str = "admin", name: str = "ci") -> dict:
    resp = account.post("/api/v1/api-keys", json={"name": name, "role": role})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def _as_key(owner, key: dict, path: str = "/api/v1/users"):
    return owner.client.get(path, headers={"X-API-Key": key["key"]})


def _audited(owner, action: str) -> list[dict]:
    return owner.get(f"/api/v1/audit-events?action={action}").get_json()["data"]


def test_deleting_the_creator_revokes_their_keys(owner, add_user):
    admin = add_user(owner, "admin")
    theirs, mine = _mint(admin), _mint(owner)
    assert _as_key(owner, theirs).status_code == 200
    assert owner.delete(f"/api/v1/users/{admin.user['id']}").status_code == 200
    assert_error(_as_key(owner, theirs), 401, "UNAUTHORIZED")
    assert _as_key(owner, mine).status_code == 200
    assert [k["id"] for k in owner.get("/api/v1/api-keys").get_json()["data"]] == [mine["id"]]
    events = _audited(owner, "api_key.revoked")
    assert [(e["object_id"], e["details"]["reason"]) for e in events] == [(theirs["id"], "creator_deleted")]


def test_deactivating_the_creator_revokes_their_keys_for_good(owner, add_user):
    admin = add_user(owner, "admin")
    key = _mint(admin, "member")
    assert owner.patch(f"/api/v1/users/{admin.user['id']}", json={"is_active": False}).status_code == 200
    assert_error(_as_key(owner, key, "/api/v1/jobs"), 401, "UNAUTHORIZED")
    assert owner.patch(f"/api/v1/users/{admin.user['id']}", json={"is_active": True}).status_code == 200
    assert_error(_as_key(owner, key, "/api/v1/jobs"), 401, "UNAUTHORIZED")
    events = _audited(owner, "api_key.revoked")
    assert [(e["object_id"], e["details"]["reason"]) for e in events] == [(key["id"], "creator_deactivated")]


def test_demoting_the_creator_caps_their_keys_at_the_new_role(owner, add_user):
    admin = add_user(owner, "admin")
    admin_key, member_key = _mint(admin, "admin", "deploy"), _mint(admin, "member", "reader")
    assert _as_key(owner, admin_key).status_code == 200  # /users is admin-only
    assert owner.patch(f"/api/v1/users/{admin.user['id']}", json={"role": "member"}).status_code == 200
    assert_error(_as_key(owner, admin_key), 403, "FORBIDDEN")
    assert _as_key(owner, admin_key, "/api/v1/jobs").status_code == 200  # still a member's key
    roles = {k["id"]: k["role"] for k in owner.get("/api/v1/api-keys").get_json()["data"]}
    assert roles == {admin_key["id"]: "member", member_key["id"]: "member"}
    events = _audited(owner, "api_key.role_capped")
    assert [(e["object_id"], e["details"]["from"], e["details"]["to"]) for e in events] == [
        (admin_key["id"], "admin", "member")]


def test_the_owner_sees_and_revokes_every_key_of_the_tenant(owner, add_user):
    admin = add_user(owner, "admin")
    key = _mint(admin, "admin")
    listed = owner.get("/api/v1/api-keys").get_json()["data"]
    assert [(k["id"], k["created_by"]) for k in listed] == [(key["id"], admin.user["id"])]
    assert owner.delete(f"/api/v1/api-keys/{key['id']}").status_code == 200
    assert_error(_as_key(owner, key), 401, "UNAUTHORIZED")
