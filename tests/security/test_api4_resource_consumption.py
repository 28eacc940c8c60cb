"""API4:2023 Unrestricted Resource Consumption: page caps, body size, per-tier job rate, login throttle."""
from __future__ import annotations

import uuid

import pytest

from hub import create_app
from hub.extensions import db
from hub.models import Tenant, User
from tests.security.conftest import operations
from tests.support.helpers import assert_error


def test_every_list_caps_its_page_size(app, openapi, tenant):
    """Tenant lists and staff lists alike (the owner is made staff, so both answer)."""
    with app.app_context():
        db.session.get(User, uuid.UUID(tenant.owner.user["id"])).is_staff = True
        db.session.commit()
    lists = [(p, op) for m, p, op in operations(openapi)
             if m == "GET" and any(q["name"] == "per_page" for q in op.get("parameters", []))]
    assert len(lists) >= 6
    for path, _op in lists:
        path = path.format(user_id=tenant.ids["user"], job_id=tenant.ids["job"],
                           endpoint_id=tenant.ids["endpoint"], connection_id=tenant.ids["connection"])
        assert_error(tenant.owner.get(path + "?per_page=101"), 422, "VALIDATION_ERROR")
        assert tenant.owner.get(path + "?per_page=100").status_code == 200, path


def test_bodies_over_max_content_length_are_413(base_config, register):
    small = create_app({**base_config, "MAX_CONTENT_LENGTH": 2048})
    client = small.test_client()
    owner = register()
    big = {"type": "demo.sleep", "payload": {"seconds": 0, "pad": "x" * 4096}}
    resp = client.post("/api/v1/jobs", json=big, headers=owner.headers)
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    resp = client.post("/api/v1/auth/login", data=b"{" + b" " * 5000 + b"}",
                       content_type="application/json")
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("tier, rate", [("free", 2), ("standard", 3)])
def test_job_creation_is_limited_per_tenant_tier(app, register, tier, rate):
    saved = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**saved, tier: {"rate": f"{rate} per minute", "concurrency": 1}}
    try:
        owner, neighbour = register(), register()
        with app.app_context():
            for account in (owner, neighbour):
                db.session.get(Tenant, uuid.UUID(account.tenant["id"])).tier = tier
            db.session.commit()
        job = {"type": "demo.sleep", "payload": {"seconds": 0}}
        assert [owner.post("/api/v1/jobs", json=job).status_code for _ in range(rate)] == [202] * rate
        limited = owner.post("/api/v1/jobs", json=job)
        assert_error(limited, 429, "RATE_LIMITED")
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        # Emails are jobs too: the same budget.
        assert_error(owner.post("/api/v1/emails", json={"to": ["a@example.com"], "subject": "s",
                                                        "text": "t"}), 429, "RATE_LIMITED")
        # One tenant's flood does not spend another's budget.
        assert neighbour.post("/api/v1/jobs", json=job).status_code == 202
    finally:
        app.config["JOB_TIER_LIMITS"] = saved

