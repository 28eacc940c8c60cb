"""Register, login, refresh rotation with reuse detection, logout, me."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from tests.support.helpers import PASSWORD, assert_error, auth_header


def test_register_creates_tenant_owner_and_tokens(client):
    resp = client.post("/api/v1/auth/register", json={
        "tenant_name": "Acme", "name": "Ada", "email": "Ada@Example.com", "password": PASSWORD})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["success"] is True
    data = body["data"]
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["role"] == "owner"
    assert data["tenant"]["name"] == "Acme"
    assert data["user"]["tenant_id"] == data["tenant"]["id"]
    assert data["token_type"] == "Bearer" and data["expires_in"] == 15 * 60
    assert "password" not in data["user"] and "password_hash" not in data["user"]
    me = client.get("/api/v1/auth/me", headers=auth_header(data["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["data"]["tenant"]["id"] == data["tenant"]["id"]


def test_register_duplicate_email_is_conflict(client, register):
    owner = register()
    resp = client.post("/api/v1/auth/register", json={
        "tenant_name": "Other", "name": "X", "email": owner.email.upper(), "password": PASSWORD})
    assert_error(resp, 409, "CONFLICT")


def test_register_disabled_is_forbidden(app, client):
    app.config["ALLOW_SIGNUP"] = False
    try:
        resp = client.post("/api/v1/auth/register", json={
            "tenant_name": "Acme", "name": "A", "email": "a@example.com", "password": PASSWORD})
    finally:
        app.config["ALLOW_SIGNUP"] = True
    assert_error(resp, 403, "FORBIDDEN")


@pytest.mark.parametrize("body, field", [
    ({"tenant_name": "A", "name": "A", "email": "not-an-email", "password": PASSWORD}, "email"),
    ({"tenant_name": "A", "name": "A", "email": "a@example.com", "password": "short"}, "password"),
    ({"tenant_name": "A", "name": "A", "email": "a@example.com"}, "password"),
    ({"tenant_name": 5, "name": "A", "email": "a@example.com", "password": PASSWORD},
     "tenant_name"),
    ({"tenant_name": "A", "name": "A", "email": "a@example.com", "password": PASSWORD,
      "is_staff": True}, "is_staff"),
])
def test_register_rejects_bad_input_with_field_details(client, body, field):
    body = assert_error(client.post("/api/v1/auth/register", json=body), 422, "VALIDATION_ERROR")
    assert field in body["details"]["fields"]["json"]


def test_login_returns_tokens_and_user(client, register):
    owner = register()
    resp = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert set(data) >= {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert data["user"]["id"] == owner.user["id"]
    assert data["user"]["last_login_at"].endswith("Z")


def test_login_wrong_password_and_unknown_email_answer_the_same(client, register):
    owner = register()
    wrong = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "nope" * 3})
    unknown = client.post("/api/v1/auth/login",
                          json={"email": "nobody@example.com", "password": "nope" * 3})
    a = assert_error(wrong, 401, "UNAUTHORIZED")
    b = assert_error(unknown, 401, "UNAUTHORIZED")
    assert a["message"] == b["message"]


def test_deactivated_user_cannot_log_in_or_use_tokens(client, register, add_user):
    owner = register()
    member = add_user(owner)
    assert owner.patch(f"/api/v1/users/{member.user['id']}",
                       json={"is_active": False}).status_code == 200
    assert_error(member.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    resp = client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert_error(resp, 401, "UNAUTHORIZED")


def test_refresh_rotates_and_spends_the_old_token(client, register):
    owner = register()
    resp = client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh))
    assert resp.status_code == 200
    pair = resp.get_json()["data"]
    assert pair["refresh_token"] != owner.refresh and pair["access_token"] != owner.access
    assert client.get("/api/v1/auth/me", headers=auth_header(pair["access_token"])).status_code == 200
    # The new refresh token works once more.
    again = client.post("/api/v1/auth/refresh", headers=auth_header(pair["refresh_token"]))
    assert again.status_code == 200


def test_spent_refresh_token_revokes_family(client, register):
    owner = register()
    first = client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh))
    pair = first.get_json()["data"]
    # Replaying the spent token: 401, and the whole login is revoked.
    replay = client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh))
    assert_error(replay, 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/auth/refresh", headers=auth_header(pair["refresh_token"])),
                 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me", headers=auth_header(pair["access_token"])),
                 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me", headers=owner.headers), 401, "UNAUTHORIZED")
    # Another login of the same user is not affected.
    fresh = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert client.get("/api/v1/auth/me",
                      headers=auth_header(fresh.get_json()["data"]["access_token"])).status_code == 200


def test_access_token_cannot_refresh_and_refresh_token_cannot_access(client, register):
    owner = register()
    assert_error(client.post("/api/v1/auth/refresh", headers=owner.headers), 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me", headers=auth_header(owner.refresh)),
                 401, "UNAUTHORIZED")


def test_logout_revokes_access_and_refresh_tokens(client, register):
    owner = register()
    resp = owner.post("/api/v1/auth/logout", json={"refresh_token": owner.refresh})
    assert resp.status_code == 200 and resp.get_json()["success"] is True
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh)),
                 401, "UNAUTHORIZED")


def test_logout_rejects_someone_elses_refresh_token(register):
    a, b = register(), register()
    assert_error(a.post("/api/v1/auth/logout", json={"refresh_token": b.refresh}),
                 400, "BAD_REQUEST")
    assert_error(a.post("/api/v1/auth/logout", json={"refresh_token": "garbage"}),
                 400, "BAD_REQUEST")


def test_revoked_token_stays_revoked_across_redis_restart(client, register, redis_server):
    owner = register()
    assert owner.post("/api/v1/auth/logout").status_code == 200
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    redis_server.restart()  # persistence is off: the blocklist in Redis is gone
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


def test_revoked_token_stays_revoked_while_redis_is_down(client, register, redis_down):
    owner = register()
    assert owner.post("/api/v1/auth/logout").status_code == 200
    other = register()
    with redis_down():
        assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
        assert other.get("/api/v1/auth/me").status_code == 200


def test_logout_while_redis_is_down_still_revokes(client, register, redis_down):
    owner = register()
    with redis_down():
        assert owner.post("/api/v1/auth/logout").status_code == 200
        assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    # Redis is back (with its blocklist intact): the revocation still holds.
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


def test_expired_and_tampered_tokens_are_401(app, client, register):
    owner = register()
    with app.app_context():
        expired = create_access_token(identity=owner.user["id"],
                                      additional_claims={"tid": owner.tenant["id"]},
                                      expires_delta=timedelta(seconds=-5))
    body = assert_error(client.get("/api/v1/auth/me", headers=auth_header(expired)),
                        401, "UNAUTHORIZED")
    assert "expired" in body["message"]
    tampered = owner.access[:-4] + ("AAAA" if not owner.access.endswith("AAAA") else "BBBB")
    assert_error(client.get("/api/v1/auth/me", headers=auth_header(tampered)), 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": "Bearer"}),
                 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}),
                 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


def test_token_signed_with_another_key_is_401(app, client, register):
    import jwt as pyjwt

    owner = register()
    forged = pyjwt.encode({"sub": owner.user["id"], "type": "access", "jti": "x",
                           "fresh": False, "exp": 9999999999}, "not-the-key-" + "z" * 32, algorithm="HS256")
    assert_error(client.get("/api/v1/auth/me", headers=auth_header(forged)), 401, "UNAUTHORIZED")
