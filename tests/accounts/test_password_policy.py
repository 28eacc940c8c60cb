"""Password policy: length alone is not enough."""
from __future__ import annotations

import uuid

import pytest

from tests.support.helpers import PASSWORD, assert_error

WEAK = ["password123", "aaaaaaaaaaaa", "qwertyuiop12", "1234567890ab", "iloveyou2024"]


def _register(client, password: str, email: str | None = None):
    return client.post("/api/v1/auth/register", json={
        "tenant_name": "Acme", "name": "Grace Hopper", "password": password,
        "email": email or f"grace-{uuid.uuid4().hex[:8]}@example.com"})


@pytest.mark.parametrize("password", WEAK)
def test_easy_passwords_are_422_saying_why(client, password):
    body = assert_error(_register(client, password), 422, "VALIDATION_ERROR")
    [why] = body["details"]["fields"]["json"]["password"]
    assert why.startswith("Too easy to guess.") and len(why) > len("Too easy to guess. ")


def test_a_password_made_of_the_users_own_name_is_refused(client):
    body = assert_error(_register(client, "gracehopper1", "gracehopper@example.com"), 422, "VALIDATION_ERROR")
    assert "password" in body["details"]["fields"]["json"]


def test_a_strong_password_is_accepted_everywhere(client, register, add_user):
    assert _register(client, PASSWORD).status_code == 201
    long_one = "the crumpet lighthouse sings to a velvet otter every tuesday at noon, mostly"
    assert len(long_one) > 72 and _register(client, long_one).status_code == 201  # judged by its start
    owner = register()
    assert add_user(owner, "member", password="velvet otter tuesday").user


@pytest.mark.parametrize("call", ["create", "reset", "change"])
def test_every_way_to_set_a_password_applies_the_policy(register, add_user, call):
    owner = register()
    if call == "create":
        resp = owner.post("/api/v1/users", json={"email": "m@example.com", "name": "M",
                                                 "password": "password123"})
        field = "password"
    elif call == "reset":
        member = add_user(owner)
        resp = owner.patch(f"/api/v1/users/{member.user['id']}", json={"password": "password123"})
        field = "password"
    else:
        resp = owner.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                         "new_password": "password123"})
        field = "new_password"
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert field in body["details"]["fields"]["json"]


def test_the_minimum_score_is_a_setting(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_SCORE", 0)
    assert _register(client, "password123").status_code == 201


def test_the_cli_applies_the_policy_too(app, register):
    tenant_id = register().tenant["id"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "create-user", "--tenant", tenant_id, "--email", "op@example.com",
                                 "--name", "Op", "--password", "password123"])
    assert result.exit_code != 0 and "too easy to guess" in result.output
