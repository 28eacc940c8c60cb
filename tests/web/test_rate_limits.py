"""Login throttling per account and per IP, answered as 429 with Retry-After."""
from __future__ import annotations

from tests.support.helpers import PASSWORD, assert_error


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


def test_a_guesser_is_throttled_but_not_the_account_owner_elsewhere(app, client, register, monkeypatch):
    """Failures count per (account, client); five wrong passwords from
    one address do not keep the owner out from another."""
    owner = register()
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ACCOUNT_CLIENT", "3 per minute")
    attacker, user = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.20"}
    for _ in range(3):
        assert client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12},
                           environ_base=attacker).status_code == 401
    limited = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                          environ_base=attacker)
    assert_error(limited, 429, "RATE_LIMITED")
    assert "Retry-After" in limited.headers
    ok = client.post("/api/v1/auth/login", json={"email": owner.email.upper(), "password": PASSWORD},
                     environ_base=user)
    assert ok.status_code == 200, ok.get_json()


def test_the_per_account_ceiling_still_stops_guessing_from_many_addresses(app, client, register,
                                                                         monkeypatch):
    owner = register()
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ACCOUNT", "4 per minute")
    for i in range(4):
        assert client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12},
                           environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"}).status_code == 401
    assert_error(client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12},
                             environ_base={"REMOTE_ADDR": "203.0.113.99"}), 429, "RATE_LIMITED")


def test_an_oversized_login_body_is_a_clean_413_that_never_reaches_the_limiter(base_config, caplog,
                                                                                monkeypatch):
    """The limiter's key functions must not read past MAX_CONTENT_LENGTH
    (an 11 MB login logged 'Rate limit storage unreachable' while Redis was up)."""
    import json

    from hub import create_app
    from hub.extensions import limiter

    # A fresh app: the limiter is one object, and an app another test built with an
    # unreachable REDIS_URL may have pointed it there; this one points it back.
    app = create_app(base_config)
    monkeypatch.setattr(limiter, "_storage_dead", False)
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = json.dumps({"email": "a@example.com", "password": "x" * (limit + 1_000_000)})
    with caplog.at_level("WARNING"):
        resp = app.test_client().post("/api/v1/auth/login", data=big, content_type="application/json")
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "unreachable" not in logged and "fall" not in logged, logged
    assert not limiter._storage_dead  # still on Redis: no in-memory fallback was switched on
