"""Queueing jobs resolves the caller from the principal cache, and rights still end at once."""
from __future__ import annotations

import uuid

from sqlalchemy import event

from hub.extensions import db, redis_client
from hub.models import Tenant, User
from hub.services.accounts import principal_cache
from tests.support.helpers import assert_error

DEMO = {"type": "demo.sleep", "payload": {"seconds": 0}}


def _statements(app, fn) -> list[str]:
    """The SQL statements the database saw while `fn()` ran."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_second_job_is_queued_without_reading_the_user(app, register):
    owner = register()
    assert owner.post("/api/v1/jobs", json=DEMO).status_code == 202
    statements = _statements(app, lambda: owner.post("/api/v1/jobs", json=DEMO))
    # No user or tenant row is loaded to authenticate; the one read of `tenants` left is the
    # scheduler's admission (the tier with the slots in use, one statement, "AS busy").
    assert statements and not any("FROM users" in s for s in statements)
    assert not [s for s in statements if "FROM tenants" in s and "AS busy" not in s], statements
    # Other endpoints still load the user as before.
    statements = _statements(app, lambda: owner.get("/api/v1/auth/me"))
    assert any("FROM users" in s for s in statements)


def test_a_deactivated_or_deleted_user_cannot_queue_jobs_a_moment_later(register, add_user):
    owner = register()
    member, other = add_user(owner), add_user(owner)
    for account in (member, other):
        assert account.post("/api/v1/jobs", json=DEMO).status_code == 202  # now cached
    assert owner.patch(f"/api/v1/users/{member.user['id']}", json={"is_active": False}).status_code == 200
    assert_error(member.post("/api/v1/jobs", json=DEMO), 401, "UNAUTHORIZED")
    assert_error(member.post("/api/v1/jobs/batch", json={"jobs": [DEMO]}), 401, "UNAUTHORIZED")
    assert owner.delete(f"/api/v1/users/{other.user['id']}").status_code in (200, 204)
    assert_error(other.post("/api/v1/jobs", json=DEMO), 401, "UNAUTHORIZED")
    assert owner.post("/api/v1/jobs", json=DEMO).status_code == 202


def test_a_deactivated_tenant_cannot_queue_jobs_a_moment_later(app, register):
    owner = register()
    assert owner.post("/api/v1/jobs", json=DEMO).status_code == 202
    with app.app_context():
        db.session.get(Tenant, uuid.UUID(owner.tenant["id"])).is_active = False
        db.session.commit()
    assert_error(owner.post("/api/v1/jobs", json=DEMO), 401, "UNAUTHORIZED")


def test_a_request_that_read_the_user_before_a_change_cannot_cache_it_after(app, register):
    owner = register()
    user_id = uuid.UUID(owner.user["id"])
    with app.app_context():
        before = db.session.get(User, user_id)
        db.session.expunge(before)  # what a slow request read before the change
        db.session.get(User, user_id).role = "member"
        db.session.commit()
        principal_cache.store(before)  # ... and stores after it: refused by the stale mark
        assert principal_cache.load(user_id, owner.tenant["id"]) is None


def test_a_token_of_another_tenant_is_not_answered_from_the_cache(app, register):
    owner = register()
    assert owner.post("/api/v1/jobs", json=DEMO).status_code == 202
    with app.app_context():
        user_id = uuid.UUID(owner.user["id"])
        assert principal_cache.load(user_id, owner.tenant["id"]) is not None
        assert principal_cache.load(user_id, str(uuid.uuid4())) is None


def test_rights_that_end_while_redis_is_down_are_not_brought_back_by_the_cache(app, register, add_user,
                                                                              redis_down):
    owner = register()
    member = add_user(owner)
    assert member.post("/api/v1/jobs", json=DEMO).status_code == 202
    with app.app_context():
        user_key = f"hub:principal:user:{member.user['id']}"
        assert redis_client().get(user_key)
    with redis_down():
        assert owner.patch(f"/api/v1/users/{member.user['id']}",
                           json={"is_active": False}).status_code == 200
    assert_error(member.post("/api/v1/jobs", json=DEMO), 401, "UNAUTHORIZED")
