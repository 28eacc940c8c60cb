"""API2:2023 Broken Authentication: every forged, stale or misused credential is a 401."""
from __future__ import annotations

import base64
import json
import time

import jwt as pyjwt
import pytest

from tests.support.helpers import assert_error, auth_header

WRONG_KEY = "not-the-hub-key-" + "z" * 32


def _claims(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forgeries(app, owner, victim) -> dict[str, str]:
    """Tokens an attacker can make from their own valid token and public knowledge."""
    claims = _claims(owner.access)
    header, _payload, signature = owner.access.split(".")
    other = {**claims, "sub": victim.user["id"], "tid": victim.tenant["id"]}
    return {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg-none-other-user": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(other)}.",
        "wrong-key": pyjwt.encode(claims, WRONG_KEY, algorithm="HS256"),
        "claims-changed-resigned-wrong-key": pyjwt.encode(other, WRONG_KEY, algorithm="HS256"),
        "claims-changed-not-resigned": f"{header}.{_b64(other)}.{signature}",
        "expired": pyjwt.encode({**claims, "exp": int(time.time()) - 5},
                                app.config["JWT_SECRET_KEY"], algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty-segments": "..",
        "random-bytes": base64.urlsafe_b64encode(b"\x00" * 40).decode(),
    }


@pytest.mark.parametrize("kind", ["alg-none", "alg-none-other-user", "wrong-key",
                                  "claims-changed-resigned-wrong-key", "claims-changed-not-resigned",
                                  "expired", "garbage", "empty-segments", "random-bytes"])
def test_forged_or_expired_access_tokens_are_401(app, client, register, kind):
    owner, victim = register(), register()
    token = _forgeries(app, owner, victim)[kind]
    for path in ("/api/v1/auth/me", "/api/v1/users", f"/api/v1/users/{victim.user['id']}"):
        assert_error(client.get(path, headers=auth_header(token)), 401, "UNAUTHORIZED")


def test_spent_refresh_token_is_401_and_ends_the_login(client, register):
    owner = register()
    first = client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh))
    assert first.status_code == 200
    assert_error(client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh)),
                 401, "UNAUTHORIZED")
    # Reuse of a spent token revokes its whole family: the thief's fresh pair dies too.
    assert_error(client.post("/api/v1/auth/refresh",
                             headers=auth_header(first.get_json()["data"]["refresh_token"])),
                 401, "UNAUTHORIZED")


def test_logged_out_tokens_are_401(client, register):
    owner = register()
    assert owner.post("/api/v1/auth/logout", json={"refresh_token": owner.refresh}).status_code == 200
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/auth/refresh", headers=auth_header(owner.refresh)),
                 401, "UNAUTHORIZED")


def test_refresh_token_is_not_an_access_token(client, register):
    owner = register()
    assert_error(client.get("/api/v1/auth/me", headers=auth_header(owner.refresh)), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/jobs", headers=auth_header(owner.refresh),
                             json={"type": "demo.sleep", "payload": {"seconds": 0}}),
                 401, "UNAUTHORIZED")


def test_revoked_api_key_is_401(client, register):
    owner = register()
    key = owner.post("/api/v1/api-keys", json={"name": "ci"}).get_json()["data"]
    headers = {"X-API-Key": key["key"]}
    assert client.get("/api/v1/jobs", headers=headers).status_code == 200
    assert owner.delete(f"/api/v1/api-keys/{key['id']}").status_code == 200
    assert_error(client.get("/api/v1/jobs", headers=headers), 401, "UNAUTHORIZED")
    # A guessed key of the right shape is no better.
    assert_error(client.get("/api/v1/jobs", headers={"X-API-Key": key["key"][:-4] + "AAAA"}),
                 401, "UNAUTHORIZED")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc",
                                    "Bearer a b c", "bearer " + "x" * 5000])
def test_garbage_authorization_headers_are_401(client, header):
    assert_error(client.get("/api/v1/jobs", headers={"Authorization": header}), 401, "UNAUTHORIZED")
