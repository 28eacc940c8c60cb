"""API5:2023 Broken Function Level Authorization, driven by `ROLE_NEEDED` (tests/security/
routes.py): the role each operation needs, written from the API's contract. The OpenAPI
document must agree with it both ways, and every call is made with the roles just below
the one needed: a route that forgot its role check fails here, it does not drop out."""
from __future__ import annotations

import re
import uuid

from tests.security.conftest import HOOK_URL, operations
from tests.security.routes import FORBIDDEN_FOR_OTHER_REASONS, ROLE_NEEDED
from tests.support.helpers import assert_error

IDS = {"user_id": "user", "key_id": "api_key", "job_id": "job", "endpoint_id": "endpoint",
       "delivery_id": "delivery", "file_id": "file", "link_id": "stripe_link", "connection_id": "connection",
       "invitation_id": "invitation", "invoice_id": "invoice", "rec_id": "reconciliation"}
BODIES = {
    ("POST", "/api/v1/users"): {"email": "new@example.com", "name": "N", "password": "x" * 12},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "N"},
    ("POST", "/api/v1/api-keys"): {"name": "k"},
    ("POST", "/api/v1/webhook-endpoints"): {"url": HOOK_URL, "events": ["job.failed"]},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): {"enabled": False},
}
LOGGED_IN = {"user", "member", "admin", "admin-user", "staff"}
ADMIN = {"admin", "admin-user"}
TOKEN_ONLY = {"user", "admin-user", "staff"}


def _ops(role: set[str]) -> list[tuple[str, str]]:
    found = [op for op, needed in ROLE_NEEDED.items() if needed in role]
    return sorted(found, key=lambda op: op[0] == "DELETE")  # deletions last: they remove the ids


def _path(tenant, template: str) -> str:
    return re.sub(r"\{(\w+_id)\}", lambda m: tenant.ids[IDS[m.group(1)]], template)


def _call(client, tenant, method: str, template: str, headers: dict[str, str]):
    return client.open(_path(tenant, template), method=method, json=BODIES.get((method, template)),
                       headers=headers)


def test_the_role_table_and_the_openapi_document_name_the_same_operations(openapi):
    documented = {(m, p): op for m, p, op in operations(openapi, prefix="/")}
    missing = sorted(set(documented) - set(ROLE_NEEDED))
    assert not missing, f"say who may call these in tests/security/routes.py ROLE_NEEDED: {missing}"
    gone = sorted(set(ROLE_NEEDED) - set(documented))
    assert not gone, f"ROLE_NEEDED lists operations the API no longer has: {gone}"


def test_the_document_says_what_the_table_says(openapi):
    wrong = []
    for method, path, op in operations(openapi, prefix="/"):
        needed = ROLE_NEEDED[(method, path)]
        schemes = {name for requirement in op.get("security", []) for name in requirement}
        says_403 = "403" in op.get("responses", {})
        expected_schemes = (set() if needed in ("anyone", "signed-url") else
                            {"bearerAuth"} if needed in TOKEN_ONLY else {"bearerAuth", "apiKey"})
        if schemes != expected_schemes:
            wrong.append((method, path, needed, f"security {sorted(schemes)}"))
        if says_403 != (needed in ADMIN | {"staff"} or (method, path) in FORBIDDEN_FOR_OTHER_REASONS):
            wrong.append((method, path, needed, "403 documented" if says_403 else "403 not documented"))
    assert not wrong, wrong


def test_a_member_is_refused_every_admin_operation_by_token_and_by_key(tenant, client):
    member_key = tenant.owner.post("/api/v1/api-keys", json={"name": "m", "role": "member"}
                                   ).get_json()["data"]["key"]
    for method, template in _ops(ADMIN):
        assert_error(_call(client, tenant, method, template, tenant.member.headers), 403, "FORBIDDEN")
        by_key = _call(client, tenant, method, template, {"X-API-Key": member_key})
        assert_error(by_key, 401 if ROLE_NEEDED[(method, template)] == "admin-user" else 403,
                     "UNAUTHORIZED" if ROLE_NEEDED[(method, template)] == "admin-user" else "FORBIDDEN")
    # ...and everything is still there for the owner.
    assert tenant.owner.get(f"/api/v1/webhook-endpoints/{tenant.ids['endpoint']}").status_code == 200
    assert tenant.owner.get(f"/api/v1/users/{tenant.ids['user']}").status_code == 200


def test_an_admin_passes_every_admin_check_by_token_and_admin_key(tenant, add_user, client):
    admin = add_user(tenant.owner, "admin")
    admin_key = {"X-API-Key": tenant.secrets["api_key"]}
    for method, template in _ops({"admin"}):
        if method != "DELETE":  # the token's turn below deletes; the ids must stay for it
            resp = _call(client, tenant, method, template, admin_key)
            assert resp.status_code not in (401, 403), (method, template, resp.get_json())
    for method, template in _ops(ADMIN):
        resp = _call(client, tenant, method, template, admin.headers)
        assert resp.status_code not in (401, 403), (method, template, resp.get_json())


def test_a_member_may_use_every_member_operation(tenant, client):
    for method, template in _ops({"member"}):
        resp = _call(client, tenant, method, template, tenant.member.headers)
        assert resp.status_code not in (401, 403), (method, template, resp.get_json())


def test_api_keys_are_refused_where_a_users_own_token_is_needed(tenant, client):
    key = {"X-API-Key": tenant.secrets["api_key"]}  # an admin key, even
    for method, template in _ops({"user", "staff"}):
        assert_error(_call(client, tenant, method, template, key), 401, "UNAUTHORIZED")


def test_only_hub_staff_pass_the_staff_operations(tenant, staff, client):
    for method, template in _ops({"staff"}):
        for who in (tenant.owner, tenant.member):  # a tenant's owner is no operator
            assert_error(_call(client, tenant, method, template, who.headers), 403, "FORBIDDEN")
        resp = _call(client, tenant, method, template, staff.headers)
        assert resp.status_code not in (401, 403), (method, template, resp.get_json())


def test_nobody_anonymous_gets_past_a_login_and_anyone_reaches_the_open_operations(tenant, client):
    for method, template in _ops(LOGGED_IN):
        assert_error(_call(client, tenant, method, template, {}), 401, "UNAUTHORIZED")
    for method, template in _ops({"anyone"}):
        resp = _call(client, tenant, method, template, {})
        assert resp.status_code not in (401, 403), (method, template, resp.get_json())


def test_all_tenants_is_staff_only(app, tenant, register):
    from hub.extensions import db
    from hub.models import User

    assert_error(tenant.owner.get("/api/v1/jobs?all_tenants=true"), 403, "FORBIDDEN")
    assert_error(tenant.member.get("/api/v1/jobs?all_tenants=true"), 403, "FORBIDDEN")
    staff = register()
    with app.app_context():
        db.session.get(User, uuid.UUID(staff.user["id"])).is_staff = True
        db.session.commit()
    seen = {j["tenant_id"] for j in staff.get("/api/v1/jobs?all_tenants=true&per_page=100"
                                               ).get_json()["data"]}
    assert tenant.tenant_id in seen


def test_a_member_cannot_grant_itself_admin_through_the_api_keys_it_may_not_create(tenant):
    assert_error(tenant.member.post("/api/v1/api-keys", json={"name": "x", "role": "admin"}),
                 403, "FORBIDDEN")
