"""A password change or admin reset ends the user's sessions.

Every access and refresh token issued before it stops working at once; a user who
changes their own password keeps the session that did it.
"""
from __future__ import annotations

import pytest

from tests.support.helpers import PASSWORD, Account, assert_error, auth_header

NEW_PASSWORD = "a different staple for the horse"


def _login(client, email: str, password: str = PASSWORD) -> Account:
    resp = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return Account(client, resp.get_json(), password)


def _works(client, session: Account) -> bool:
    """Both of the session's tokens still work (the refresh is not spent: checked by /auth/me
    with the access token, then one rotation)."""
    me = client.get("/api/v1/auth/me", headers=session.headers)
    if me.status_code != 200:
        return False
    return client.post("/api/v1/auth/refresh", headers=auth_header(session.refresh)).status_code == 200


def _dead(client, session: Account) -> bool:
    me = client.get("/api/v1/auth/me", headers=session.headers)
    refresh = client.post("/api/v1/auth/refresh", headers=auth_header(session.refresh))
    return me.status_code == 401 and refresh.status_code == 401


@pytest.fixture
def owner(register):
    return register()


def test_an_admin_reset_ends_every_session_of_the_user(client, owner, add_user):
    member = add_user(owner, "member")
    other_device = _login(client, member.email)
    resp = owner.patch(f"/api/v1/users/{member.user['id']}", json={"password": NEW_PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    assert _dead(client, member) and _dead(client, other_device)
    assert _works(client, owner)  # the admin's own session is not the member's
    assert _works(client, _login(client, member.email, NEW_PASSWORD))
    assert_error(client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}),
                 401, "UNAUTHORIZED")
    event = owner.get("/api/v1/audit-events?action=user.updated").get_json()["data"][0]
    assert event["details"]["sessions_ended"] == 2


def test_changing_your_own_password_keeps_this_session_and_ends_the_others(client, owner):
    laptop, phone = owner, _login(client, owner.email)
    resp = laptop.post("/api/v1/auth/password",
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["data"] == {"sessions_ended": 1}
    assert _dead(client, phone)
    assert _works(client, laptop)
    assert _login(client, owner.email, NEW_PASSWORD)
    events = owner.client.get("/api/v1/audit-events?action=user.password_changed",
                              headers=_login(client, owner.email, NEW_PASSWORD).headers).get_json()["data"]
    assert [e["details"] for e in events] == [{"sessions_ended": 1}]


def test_a_wrong_current_password_changes_nothing(client, owner):
    phone = _login(client, owner.email)
    resp = owner.post("/api/v1/auth/password",
                      json={"current_password": "not it at all", "new_password": NEW_PASSWORD})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "current_password" in body["details"]["fields"]["json"]
    assert _works(client, phone)
    assert _login(client, owner.email, PASSWORD)


def test_guessing_the_current_password_is_throttled_per_user(client, owner, register, monkeypatch):
    """A stolen access token must not turn POST /auth/password into a password oracle."""
    monkeypatch.setitem(client.application.config, "PASSWORD_CHANGE_RATE_LIMIT", "3 per hour")
    for guess in ("guess one", "guess two", "guess three"):
        assert_error(owner.post("/api/v1/auth/password",
                                json={"current_password": guess, "new_password": NEW_PASSWORD}),
                     422, "VALIDATION_ERROR")
    limited = owner.post("/api/v1/auth/password",
                         json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) > 0
    assert _login(client, owner.email, PASSWORD)  # the right password, refused at the limit, is unchanged
    other = register()  # the budget is the user's own, not shared
    resp = other.post("/api/v1/auth/password",
                      json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 200, resp.get_json()


def test_an_api_key_cannot_change_a_password(owner):
    key = owner.post("/api/v1/api-keys", json={"name": "k"}).get_json()["data"]["key"]
    resp = owner.client.post("/api/v1/auth/password", headers={"X-API-Key": key},
                             json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(resp, 401, "UNAUTHORIZED")


def test_reactivating_a_user_does_not_bring_back_their_old_sessions(client, owner, add_user):
    member = add_user(owner, "member")
    assert owner.patch(f"/api/v1/users/{member.user['id']}", json={"is_active": False}).status_code == 200
    assert owner.patch(f"/api/v1/users/{member.user['id']}", json={"is_active": True}).status_code == 200
    assert _dead(client, member)
    assert _works(client, _login(client, member.email))


def test_sessions_end_while_redis_is_down_too(client, owner, add_user, redis_down):
    member = add_user(owner, "member")
    with redis_down():
        assert owner.patch(f"/api/v1/users/{member.user['id']}",
                           json={"password": NEW_PASSWORD}).status_code == 200
        assert client.get("/api/v1/auth/me", headers=member.headers).status_code == 401
    assert _dead(client, member)
