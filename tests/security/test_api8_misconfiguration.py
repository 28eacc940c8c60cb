"""API8:2023 Security Misconfiguration: no debug output, security headers, CORS only for
configured origins, database outages as 503, production refuses development secrets."""
from __future__ import annotations

import pytest

from hub import create_app
from hub.config import DEV_JWT_SECRET_KEY, DEV_SECRET_KEY, ConfigError, load_config
from tests.support.helpers import PRODUCTION_SETTINGS, assert_error

API_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def test_a_crash_is_a_500_envelope_without_traceback(base_config, caplog):
    app = create_app(base_config)

    @app.route("/api/v1/_crash")
    def crash():
        raise RuntimeError("internal detail: /srv/hub/secret.py line 42")

    resp = app.test_client().get("/api/v1/_crash")
    body = assert_error(resp, 500, "INTERNAL_ERROR")
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "internal detail" not in text and "secret.py" not in text
    assert set(body) == {"success", "error", "code", "message", "details", "meta"}
    assert not app.debug and not app.config.get("PROPAGATE_EXCEPTIONS")
    assert "internal detail" in caplog.text  # ...but operators see it in the log


def test_database_outage_is_a_503_envelope_not_a_500(base_config):
    from localservices import free_port

    dead = create_app({**base_config,
                       "DATABASE_URL": f"postgresql+psycopg://hub@127.0.0.1:{free_port()}/hub"})
    client = dead.test_client()
    resp = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 12})
    body = assert_error(resp, 503, "SERVICE_UNAVAILABLE")
    assert resp.headers["Retry-After"].isdigit()
    assert "psycopg" not in str(body) and "127.0.0.1" not in str(body)
    assert_error(client.get("/api/v1/jobs", headers={"Authorization": "Bearer x.y.z"}), 401,
                 "UNAUTHORIZED")  # what needs no database still answers as usual


@pytest.mark.parametrize("how", ["ok", "401", "404", "422"])
def test_api_responses_carry_security_headers(client, register, how):
    owner = register()
    resp = {"ok": lambda: owner.get("/api/v1/jobs"),
            "401": lambda: client.get("/api/v1/jobs"),
            "404": lambda: owner.get("/api/v1/nothing-here"),
            "422": lambda: owner.get("/api/v1/jobs?per_page=0")}[how]()
    for name, value in API_HEADERS.items():
        assert resp.headers.get(name) == value, (name, resp.headers)
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_login_response_with_tokens_is_not_cacheable(client, register):
    owner = register()
    resp = client.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
    assert resp.headers["Cache-Control"] == "no-store"


def test_console_keeps_its_own_csp(client):
    resp = client.get("/console")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_no_cors_by_default(client, register):
    owner = register()
    resp = owner.get("/api/v1/jobs", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = client.options("/api/v1/jobs", headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_cors_only_for_configured_origins(base_config, register):
    app = create_app({**base_config, "CORS_ORIGINS": "https://app.example.com, https://ops.example.com/"})
    client = app.test_client()
    owner = register()
    ok = client.get("/api/v1/jobs", headers={**owner.headers, "Origin": "https://ops.example.com"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ops.example.com"
    assert "Origin" in ok.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in ok.headers
    pre = client.options("/api/v1/jobs", headers={"Origin": "https://app.example.com",
                                                  "Access-Control-Request-Method": "POST"})
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    other = client.get("/api/v1/jobs", headers={**owner.headers, "Origin": "https://app.example.com.evil"})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("name, value", [
    ("SECRET_KEY", DEV_SECRET_KEY), ("JWT_SECRET_KEY", DEV_JWT_SECRET_KEY),
    ("SECRET_KEY", "short"), ("FLOWER_BASIC_AUTH", "staff:staff")])
def test_production_refuses_development_secrets(name, value):
    from cryptography.fernet import Fernet

    from hub.config import check_config

    good = {**PRODUCTION_SETTINGS, "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    check_config(load_config(good, environ={}))  # the good settings pass...
    with pytest.raises(ConfigError, match=name):  # ...and one development value is refused
        check_config(load_config({**good, name: value}, environ={}))
