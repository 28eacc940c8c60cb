"""Users managed by tenant admins: roles, tenant isolation, owner rules."""
from __future__ import annotations

import uuid

from tests.support.helpers import PASSWORD, assert_error


def test_admin_creates_lists_gets_updates_and_deletes_users(register, add_user):
    owner = register()
    created = owner.post("/api/v1/users", json={"email": "m@example.com", "name": "Mia",
                                                "password": PASSWORD})
    assert created.status_code == 201
    user = created.get_json()["data"]
    assert user["role"] == "member" and user["tenant_id"] == owner.tenant["id"]

    listing = owner.get("/api/v1/users?per_page=1&page=2")
    body = listing.get_json()
    assert listing.status_code == 200
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 1, "total": 2, "pages": 2}
    assert [u["email"] for u in body["data"]] == ["m@example.com"]

    assert owner.get(f"/api/v1/users/{user['id']}").get_json()["data"]["name"] == "Mia"
    patched = owner.patch(f"/api/v1/users/{user['id']}", json={"name": "Mia B", "role": "admin"})
    assert patched.status_code == 200
    assert patched.get_json()["data"]["role"] == "admin"
    assert owner.delete(f"/api/v1/users/{user['id']}").status_code == 200
    assert_error(owner.get(f"/api/v1/users/{user['id']}"), 404, "NOT_FOUND")


def test_member_calling_admin_endpoint_is_forbidden(register, add_user):
    owner = register()
    member = add_user(owner)
    assert_error(member.get("/api/v1/users"), 403, "FORBIDDEN")
    assert_error(member.post("/api/v1/users", json={"email": "x@example.com", "name": "X",
                                                    "password": PASSWORD}), 403, "FORBIDDEN")
    assert_error(member.get("/api/v1/audit-events"), 403, "FORBIDDEN")
    assert_error(member.get("/api/v1/api-keys"), 403, "FORBIDDEN")


def test_other_tenants_user_is_not_found(register):
    a, b = register(), register()
    b_user = b.user["id"]
    assert_error(a.get(f"/api/v1/users/{b_user}"), 404, "NOT_FOUND")
    assert_error(a.patch(f"/api/v1/users/{b_user}", json={"name": "pwned"}), 404, "NOT_FOUND")
    assert_error(a.delete(f"/api/v1/users/{b_user}"), 404, "NOT_FOUND")
    assert_error(a.get(f"/api/v1/users/{uuid.uuid4()}"), 404, "NOT_FOUND")
    # B is untouched and A's list holds only A.
    assert b.get("/api/v1/auth/me").get_json()["data"]["user"]["name"] == "Owner"
    assert [u["id"] for u in a.get("/api/v1/users").get_json()["data"]] == [a.user["id"]]


def test_malformed_user_id_is_not_found(register):
    owner = register()
    assert_error(owner.get("/api/v1/users/not-a-uuid"), 404, "NOT_FOUND")


def test_admin_cannot_make_or_touch_owners(register, add_user):
    owner = register()
    admin = add_user(owner, role="admin")
    assert_error(admin.post("/api/v1/users", json={"email": "o2@example.com", "name": "O",
                                                   "password": PASSWORD, "role": "owner"}),
                 403, "FORBIDDEN")
    assert_error(admin.patch(f"/api/v1/users/{owner.user['id']}", json={"role": "member"}),
                 403, "FORBIDDEN")
    assert_error(admin.delete(f"/api/v1/users/{owner.user['id']}"), 403, "FORBIDDEN")
    member = add_user(owner)
    ok = admin.patch(f"/api/v1/users/{member.user['id']}", json={"role": "admin"})
    assert ok.status_code == 200


def test_last_owner_cannot_be_removed_or_demoted(register, add_user):
    owner = register()
    assert_error(owner.patch(f"/api/v1/users/{owner.user['id']}", json={"role": "admin"}),
                 409, "CONFLICT")
    assert_error(owner.delete(f"/api/v1/users/{owner.user['id']}"), 409, "CONFLICT")
    second = add_user(owner, role="owner")
    assert owner.patch(f"/api/v1/users/{second.user['id']}", json={"role": "admin"}).status_code == 200


def test_role_change_applies_to_existing_tokens(register, add_user):
    owner = register()
    admin = add_user(owner, role="admin")
    assert admin.get("/api/v1/users").status_code == 200
    owner.patch(f"/api/v1/users/{admin.user['id']}", json={"role": "member"})
    assert_error(admin.get("/api/v1/users"), 403, "FORBIDDEN")


def test_duplicate_email_and_bad_fields(register):
    owner = register()
    assert_error(owner.post("/api/v1/users", json={"email": owner.email, "name": "X",
                                                   "password": PASSWORD}), 409, "CONFLICT")
    bad = assert_error(owner.post("/api/v1/users", json={"email": "y@example.com", "name": "Y",
                                                         "password": PASSWORD, "role": "god"}),
                       422, "VALIDATION_ERROR")
    assert "role" in bad["details"]["fields"]["json"]
    unchanged = owner.patch(f"/api/v1/users/{owner.user['id']}", json={})
    assert unchanged.status_code == 200 and unchanged.get_json()["data"]["name"] == "Owner"
    assert_error(owner.get("/api/v1/users?per_page=1000"), 422, "VALIDATION_ERROR")
    assert_error(owner.get("/api/v1/users?page=0"), 422, "VALIDATION_ERROR")


def test_user_changes_are_audited(register, add_user):
    owner = register()
    member = add_user(owner)
    owner.patch(f"/api/v1/users/{member.user['id']}",
                json={"name": "New", "password": "velvet otter tuesday"})
    events = owner.get("/api/v1/audit-events?object_type=user").get_json()["data"]
    actions = [e["action"] for e in events]
    assert actions[0] == "user.updated"
    assert "user.created" in actions
    updated = events[0]
    assert updated["actor_user_id"] == owner.user["id"]
    assert updated["object_id"] == member.user["id"]
    assert updated["details"] == {"fields": ["name", "password"], "sessions_ended": 1}
    assert updated["request_id"]
    # Another tenant sees none of it.
    other = register()
    assert all(e["object_id"] != member.user["id"]
               for e in other.get("/api/v1/audit-events").get_json()["data"])
