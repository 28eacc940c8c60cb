"""API6:2023 Unrestricted Access to Sensitive Business Flows: sign-up can be closed, and
password guessing is throttled per account (so a distributed attacker gains nothing from
more addresses); the job and email budgets are in test_api4."""
from __future__ import annotations

from tests.support.helpers import PASSWORD, assert_error


def test_signup_can_be_turned_off(app, client):
    app.config["ALLOW_SIGNUP"] = False
    try:
        resp = client.post("/api/v1/auth/register", json={
            "tenant_name": "Spam", "name": "S", "email": "spam@example.com", "password": PASSWORD})
        assert_error(resp, 403, "FORBIDDEN")
    finally:
        app.config["ALLOW_SIGNUP"] = True
    assert client.post("/api/v1/auth/login", json={"email": "spam@example.com",
                                                   "password": PASSWORD}).status_code == 401


def test_guessing_one_accounts_password_from_many_addresses_is_throttled(app, client, register):
    owner = register()
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per minute"
    try:
        for i in range(3):
            bad = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12},
                              environ_base={"REMOTE_ADDR": f"10.1.1.{i}"})
            assert bad.status_code == 401
        # A fourth address, even with the right password: the account is resting.
        limited = client.post("/api/v1/auth/login", json={"email": owner.email.upper(), "password": PASSWORD},
                              environ_base={"REMOTE_ADDR": "10.1.1.99"})
        assert_error(limited, 429, "RATE_LIMITED")
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "1000 per minute"
