"""API5:2023 Broken Function Level Authorization: every admin operation refuses a member;
staff-only views refuse tenant admins."""
from __future__ import annotations

import re
import uuid

from tests.security.conftest import HOOK_URL, operations
from tests.security.routes import MEMBER_ALLOWED_WITH_403
from tests.support.helpers import assert_error

BODIES = {
    ("POST", "/api/v1/users"): {"email": "new@example.com", "name": "N", "password": "x" * 12},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "N"},
    ("POST", "/api/v1/api-keys"): {"name": "k"},
    ("POST", "/api/v1/webhook-endpoints"): {"url": HOOK_URL, "events": ["job.failed"]},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): {"enabled": False},
}
IDS = {"user_id": "user", "key_id": "api_key", "job_id": "job", "endpoint_id": "endpoint",
       "delivery_id": "delivery", "file_id": "file", "link_id": "stripe_link", "connection_id": "connection",
       "invitation_id": "invitation"}


def _admin_operations(openapi):
    return [(m, p) for m, p, op in operations(openapi)
            if "403" in op.get("responses", {}) and (m, p) not in MEMBER_ALLOWED_WITH_403]


def test_a_member_gets_403_on_every_admin_operation(openapi, tenant, client):
    admin_ops = _admin_operations(openapi)
    assert len(admin_ops) >= 12, admin_ops
    member_key = tenant.owner.post("/api/v1/api-keys", json={"name": "m", "role": "member"}
                                   ).get_json()["data"]["key"]
    for method, template in admin_ops:
        path = re.sub(r"\{(\w+_id)\}", lambda m: tenant.ids[IDS[m.group(1)]], template)
        body = BODIES.get((method, template))
        resp = tenant.member.client.open(path, method=method, json=body, headers=tenant.member.headers)
        assert_error(resp, 403, "FORBIDDEN")
        resp = client.open(path, method=method, json=body, headers={"X-API-Key": member_key})
        assert resp.status_code in (401, 403), (method, path, resp.status_code)  # 401: user-only route
    # ...and the objects are all still there for the owner.
    assert tenant.owner.get(f"/api/v1/webhook-endpoints/{tenant.ids['endpoint']}").status_code == 200
    assert tenant.owner.get(f"/api/v1/users/{tenant.ids['user']}").status_code == 200


def test_an_admin_may_use_them(openapi, tenant, add_user):
    admin = add_user(tenant.owner, "admin")
    assert admin.get("/api/v1/users").status_code == 200
    assert admin.get("/api/v1/audit-events").status_code == 200
    assert admin.post("/api/v1/webhook-endpoints",
                      json=BODIES[("POST", "/api/v1/webhook-endpoints")]).status_code == 201


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
