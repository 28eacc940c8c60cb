"""Login throttling per account and per IP, answered as 429 with Retry-After."""
from __future__ import annotations

from tests.helpers import PASSWORD, assert_error


def test_login_throttled_per_account(app, client, register):
    owner = register()
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per minute"
    try:
        for _ in range(3):
            bad = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12})
            assert bad.status_code == 401
        limited = client.post("/api/v1/auth/login",
                              json={"email": owner.email, "password": PASSWORD})
        body = assert_error(limited, 429, "RATE_LIMITED")
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        assert body["message"]
        # Another account from the same IP is not locked out by it.
        other = register()
        ok = client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD})
        assert ok.status_code == 200
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "1000 per minute"


def test_successful_logins_do_not_count_against_the_account(app, client, register):
    owner = register()
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "2 per minute"
    try:
        for _ in range(4):
            ok = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
            assert ok.status_code == 200
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "1000 per minute"


def test_login_throttled_per_ip(app, client, register):
    owner = register()
    app.config["LOGIN_RATE_LIMIT_IP"] = "4 per minute"
    try:
        codes = [client.post("/api/v1/auth/login",
                             json={"email": f"x{i}@example.com", "password": "x" * 12},
                             environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code
                 for i in range(4)]
        assert codes == [401] * 4
        limited = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                              environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert_error(limited, 429, "RATE_LIMITED")
        assert "Retry-After" in limited.headers
        # Another address still gets in.
        ok = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.9.9.10"})
        assert ok.status_code == 200
    finally:
        app.config["LOGIN_RATE_LIMIT_IP"] = "1000 per minute"


def test_login_limits_still_apply_while_redis_is_down(app, client, register, redis_down):
    owner = register()
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "2 per minute"
    try:
        with redis_down():
            codes = [client.post("/api/v1/auth/login",
                                 json={"email": owner.email, "password": "x" * 12}).status_code
                     for _ in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "1000 per minute"
    assert 429 in codes, codes
    assert 500 not in codes
