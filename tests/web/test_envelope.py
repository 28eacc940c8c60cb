"""Every answer is an envelope: success, routing errors, bad bodies, crashes."""
from __future__ import annotations

import json

import pytest

from hub import create_app
from tests.support.helpers import assert_error


def test_success_envelope_has_request_id_and_timing(client, register):
    owner = register()
    resp = owner.get("/api/v1/auth/me", headers={"X-Request-ID": "client-req-42"})
    body = resp.get_json()
    assert resp.headers["X-Request-ID"] == "client-req-42"
    assert body["success"] is True and body["message"]
    assert body["meta"]["request_id"] == "client-req-42"
    assert body["meta"]["timing"]["duration_ms"] >= 0
    assert "pagination" not in body["meta"]


def test_request_id_is_generated_when_missing_or_unsafe(client):
    generated = client.get("/health/live")
    assert len(generated.headers["X-Request-ID"]) == 32
    unsafe = client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["X-Request-ID"] != "bad id\twith spaces"
    assert unsafe.get_json()["meta"]["request_id"] == unsafe.headers["X-Request-ID"]


def test_unknown_path_is_404_envelope(client):
    assert_error(client.get("/api/v1/nope"), 404, "NOT_FOUND")
    assert_error(client.get("/nowhere/at/all"), 404, "NOT_FOUND")


def test_wrong_method_is_405_envelope(client):
    body = assert_error(client.delete("/api/v1/auth/login"), 405, "METHOD_NOT_ALLOWED")
    assert "POST" in body["details"]["allowed"]


def test_malformed_json_is_400(client):
    resp = client.post("/api/v1/auth/login", data='{"email": "a@example.com",',
                       content_type="application/json")
    assert_error(resp, 400, "BAD_REQUEST")


@pytest.mark.parametrize("payload", ['"just a string"', "[1, 2]", "null", "42"])
def test_json_that_is_not_an_object_is_rejected(client, payload):
    resp = client.post("/api/v1/auth/login", data=payload, content_type="application/json")
    assert resp.status_code in (400, 422)
    assert resp.get_json()["success"] is False


def test_wrong_types_missing_and_unknown_fields_are_422_with_details(client):
    resp = client.post("/api/v1/auth/register", json={
        "tenant_name": ["x"], "name": None, "email": 12, "admin": True})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    fields = body["details"]["fields"]["json"]
    assert set(fields) >= {"tenant_name", "name", "email", "password", "admin"}


def test_body_over_the_limit_is_413(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = json.dumps({"email": "a@example.com", "password": "x" * (limit + 10)})
    resp = client.post("/api/v1/auth/login", data=big, content_type="application/json")
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")


def test_non_json_content_type_is_a_clear_error(client):
    resp = client.post("/api/v1/auth/login", data="email=a&password=b",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (400, 415, 422)
    assert resp.get_json()["success"] is False


def test_unhandled_exception_is_500_without_internals(base_config, caplog):
    app = create_app(base_config)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM users")

    resp = app.test_client().get("/boom", headers={"X-Request-ID": "boom-1"})
    body = assert_error(resp, 500, "INTERNAL_ERROR")
    text = resp.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text and "SELECT" not in text
    assert body["details"] == {}
    # The operator still gets the full story in the log, tagged with the request id.
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged and logged[-1].request_id == "boom-1" and logged[-1].exc_info


def test_redis_unreachable_where_nothing_falls_back_is_503_not_500(base_config):
    """Rate limits and the token blocklist fall back while Redis is down; anything else that
    still meets the outage (a request racing the limiter's switch to memory, in the chaos
    run) is the client's cue to retry, like a database outage."""
    import redis

    app = create_app(base_config)

    @app.route("/needs-redis")
    def needs_redis():
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    resp = app.test_client().get("/needs-redis")
    body = assert_error(resp, 503, "SERVICE_UNAVAILABLE")
    # At least the hub's 5 s; the rate limiter may push it to its own window's reset.
    assert int(resp.headers["Retry-After"]) >= 5
    assert "6379" not in resp.get_data(as_text=True) and body["details"] == {}


@pytest.mark.parametrize("raw", ['"Acme\\u0000"', '"\\ud8bd tenant"'])
def test_text_a_database_cannot_store_is_422_not_500(client, raw):
    body = ('{"tenant_name": ' + raw + ', "name": "A", "email": "a@example.com", '
            '"password": "correct horse battery"}')
    resp = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    err = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "tenant_name" in err["details"]["fields"]["json"]


def test_nested_nul_in_a_job_payload_is_422(register):
    owner = register()
    resp = owner.post("/api/v1/jobs", data='{"type": "demo.sleep", "payload": {"seconds": 1, '
                      '"note\\u0000": "x"}}', content_type="application/json")
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_unknown_query_parameter_is_422(register):
    owner = register()
    body = assert_error(owner.get("/api/v1/jobs?satus=failed"), 422, "VALIDATION_ERROR")
    assert "satus" in body["details"]["fields"]["query"]


def test_405_lists_the_allowed_methods(client):
    resp = client.delete("/api/v1/auth/login")
    assert resp.headers["Allow"] == "OPTIONS, POST"


def test_retry_after_only_on_429_and_503(app, client, register, monkeypatch):
    """The rate limiter put Retry-After on every response it counted."""
    owner = register()
    answers = [owner.get("/api/v1/auth/me"), client.get("/api/v1/auth/me"),
               owner.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000"),
               owner.post("/api/v1/jobs", json={"type": "nope"})]
    assert [r.status_code for r in answers] == [200, 401, 404, 422]
    for resp in answers:
        assert "Retry-After" not in resp.headers, (resp.status_code, dict(resp.headers))
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_IP", "1 per minute")
    env = {"REMOTE_ADDR": "192.0.2.44"}
    client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12}, environ_base=env)
    limited = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12},
                          environ_base=env)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
