"""Input that never 500s, handled in one place: deep JSON, NaN and
Infinity, odd multipart field names, signed but malformed Stripe events."""
from __future__ import annotations

import json
import logging

import pytest

from tests.payments.conftest import event_body, post_event
from tests.support.helpers import assert_error

JOB = "/api/v1/jobs"


@pytest.fixture
def owner(register):
    return register()


def _no_traceback(caplog) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize("depth", [65, 5_000, 200_000])
def test_json_nested_too_deep_is_400_without_a_traceback(owner, caplog, depth):
    body = '{"type": "demo.sleep", "payload": {"seconds": 0, "x": ' + "[" * depth + "]" * depth + "}}"
    with caplog.at_level(logging.INFO):
        resp = owner.post(JOB, data=body, content_type="application/json")
    err = assert_error(resp, 400, "BAD_REQUEST")
    assert "deep" in err["message"]
    _no_traceback(caplog)


def test_json_too_deep_with_an_idempotency_key_is_400_too(owner, caplog):
    body = '{"type": "demo.sleep", "payload": ' + "[" * 5000 + "]" * 5000 + "}"
    with caplog.at_level(logging.INFO):
        resp = owner.post(JOB, data=body, content_type="application/json", headers={"Idempotency-Key": "d-1"})
    assert_error(resp, 400, "BAD_REQUEST")
    _no_traceback(caplog)


def test_json_within_the_depth_limit_is_read_as_usual(owner):
    nested = "[" * 20 + "]" * 20
    body = '{"type": "demo.sleep", "payload": {"seconds": 0, "x": ' + nested + "}}"
    resp = owner.post(JOB, data=body, content_type="application/json")
    err = assert_error(resp, 422, "VALIDATION_ERROR")  # the payload's schema has no "x"
    assert "payload" in json.dumps(err["details"])


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_422(owner, caplog, number):
    body = '{"type": "demo.sleep", "payload": {"seconds": ' + number + "}}"
    with caplog.at_level(logging.INFO):
        resp = owner.post(JOB, data=body, content_type="application/json")
    err = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "NaN" in err["message"] or "finite" in err["message"]
    _no_traceback(caplog)


@pytest.mark.parametrize("path", [JOB, "/api/v1/auth/logout"])
def test_a_body_that_is_not_utf8_is_400_not_an_empty_body(owner, path):
    resp = owner.post(path, data=b'\xff\xfeY\xff"', content_type="application/json")
    assert_error(resp, 400, "BAD_REQUEST")


@pytest.mark.parametrize("when", ["0001-01-01T01:16:07+23:02", "9999-12-31T23:00:00-05:00"])
def test_a_time_outside_the_years_utc_can_hold_is_422(owner, app, monkeypatch, when):
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_" + "x" * 24)
    resp = owner.post("/api/v1/payments/reconciliations", json={"from": "2026-01-01T00:00:00Z", "to": when})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "to" in body["details"]["fields"]["json"]


def test_a_list_filter_beyond_the_years_utc_can_hold_is_the_edge_of_time(owner):
    """Schema-valid filters (format: date-time) that fall before year 1 or after 9999 in
    UTC filter as the first or last instant, instead of refusing a valid request."""
    job = owner.post(JOB, json={"type": "demo.sleep", "payload": {"seconds": 0}})
    assert job.status_code == 202
    early, late = "0001-01-01T00:19:40+01:00", "9999-12-31T23:00:00-05:00"
    before_year_one = owner.get("/api/v1/jobs", query_string={"created_before": early})
    assert before_year_one.status_code == 200 and before_year_one.get_json()["data"] == []
    until_the_end = owner.get("/api/v1/jobs", query_string={"created_before": late, "created_after": early})
    assert [j["id"] for j in until_the_end.get_json()["data"]] == [job.get_json()["data"]["id"]]


def test_nan_in_a_body_read_outside_the_schema_is_422_too(owner):
    resp = owner.post("/api/v1/webhook-endpoints", data='{"url": "http://8.8.8.8/", "events": [NaN]}',
                      content_type="application/json")
    assert_error(resp, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("csv_schema", ["[" * 5000 + "]" * 5000, '{"columns": [{"name": "a", "max": NaN}]}'])
def test_hostile_json_in_a_form_field_is_422(owner, caplog, csv_schema):
    import io

    with caplog.at_level(logging.INFO):
        resp = owner.post("/api/v1/files", data={"csv_schema": csv_schema,
                                                 "file": (io.BytesIO(b"a\n1\n"), "a.csv", "text/csv")},
                          content_type="multipart/form-data")
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert "csv_schema" in body["details"]["fields"]["form"]
    _no_traceback(caplog)


def _multipart(name: bytes, boundary: bytes = b"b0undary") -> bytes:
    return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\"\r\n\r\n"
            b"value\r\n--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--" + boundary + b"--\r\n")


@pytest.mark.parametrize("name", [b"\xff\xfe", b"a\x00b", b"", b"\xed\xa0\x80", b"%", b"a\"b",
                                  b"\xc3\x28", "\u00e9t\u00e9".encode()])
def test_odd_multipart_field_names_are_4xx(owner, caplog, name):
    with caplog.at_level(logging.INFO):
        resp = owner.post("/api/v1/files", data=_multipart(name),
                          content_type="multipart/form-data; boundary=b0undary")
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True))
    assert resp.get_json()["success"] is False
    _no_traceback(caplog)


def test_a_boundary_longer_than_rfc_2046s_70_is_taken_as_clients_send_them(owner):
    """Werkzeug's own client now and then makes boundaries of 70-odd characters."""
    boundary = b"-" * 15 + b"WerkzeugFormPart_1796549948.8024492" + b"0.60221610807469690123456789"
    assert len(boundary) > 70
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--" + boundary + b"--\r\n")
    resp = owner.post("/api/v1/files", data=body,
                      content_type="multipart/form-data; boundary=" + boundary.decode())
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["data"]["size"] == 5


@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary*=UTF-8''%E2%82%AC",  # decodes to a non-ASCII boundary: was a 500
    "multipart/form-data; boundary=" + "b" * 201,
    "multipart/form-data; boundary=\"a b \"",
])
def test_an_invalid_multipart_boundary_is_400(owner, caplog, content_type):
    with caplog.at_level(logging.INFO):
        resp = owner.post("/api/v1/files", data=_multipart(b"x"), content_type=content_type)
    assert_error(resp, 400, "BAD_REQUEST")
    _no_traceback(caplog)


@pytest.mark.parametrize("change", [{"id": "evt_\u0000x"}, {"account": 12}, {"account": {"id": "acct_1"}},
                                    {"type": ["charge.succeeded"]}, {"data": "x"}, {"id": 7},
                                    {"data": {"object": {"id": "ch_1\u0000", "object": "charge"}}},
                                    {"created": "yesterday"}, {"livemode": "yes"}])
def test_a_signed_but_malformed_stripe_event_is_400(app, client, monkeypatch, caplog, change):
    from tests.payments.conftest import WEBHOOK_SECRET

    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_" + "x" * 24)
    charge = {"id": "ch_1", "object": "charge", "customer": "cus_x"}
    event = json.loads(event_body("charge.succeeded", charge))
    event.update(change)
    with caplog.at_level(logging.INFO):
        resp = post_event(client, json.dumps(event).encode())
    assert_error(resp, 400, "BAD_REQUEST")
    _no_traceback(caplog)


DEEP_LOGIN = '{"email": "a@example.com", "password": "x", "n": ' + "[" * 5000 + "]" * 5000 + "}"


@pytest.mark.parametrize("body", [DEEP_LOGIN, '{"email": "a@example.com", "password": NaN}'])
def test_hostile_json_in_a_login_is_answered_by_the_view_not_inside_the_rate_limiter(base_config, caplog,
                                                                                   monkeypatch, body):
    from hub import create_app
    from hub.extensions import limiter

    app = create_app(base_config)  # re-points the one global limiter at the test Redis
    monkeypatch.setattr(limiter, "_storage_dead", False)
    with caplog.at_level(logging.WARNING):
        resp = app.test_client().post("/api/v1/auth/login", data=body, content_type="application/json")
    assert resp.status_code in (400, 422), resp.get_json()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Rate limit storage unreachable" not in logged, logged
    assert not limiter._storage_dead
