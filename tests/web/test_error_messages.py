"""Error messages that point the way: each names what to send instead."""
from __future__ import annotations

from tests.support.helpers import assert_error


def test_a_form_encoded_body_is_told_to_send_json(client, register):
    account = register()
    resp = account.post("/api/v1/jobs", data={"type": "demo.sleep", "payload": "{}"})
    body = assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "Send the body as JSON" in body["message"]
    assert "Content-Type: application/json" in body["message"]
    assert "application/x-www-form-urlencoded" in body["message"]
    assert body["details"] == {"content_type": "application/x-www-form-urlencoded"}
    # Before authentication too (curl -d without -H sends a form), and for other types.
    login = client.post("/api/v1/auth/login", data="email=a@example.com&password=x",
                        content_type="application/x-www-form-urlencoded")
    assert "Send the body as JSON" in assert_error(login, 415, "UNSUPPORTED_MEDIA_TYPE")["message"]
    text = account.post("/api/v1/jobs", data='{"type": "demo.sleep"}', content_type="text/plain")
    assert "this request sent text/plain" in assert_error(text, 415, "UNSUPPORTED_MEDIA_TYPE")["message"]


def test_json_bodies_and_bodyless_calls_are_unaffected(client, register):
    account = register()
    resp = account.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 1}})
    assert resp.status_code == 202
    assert account.post("/api/v1/auth/logout").status_code == 200  # no body at all
    missing = register().post("/api/v1/jobs", json={})
    assert_error(missing, 422, "VALIDATION_ERROR")


def test_posting_an_email_job_points_to_post_emails(register):
    account = register()
    types = {t["name"]: t for t in account.get("/api/v1/jobs/types").get_json()["data"]}
    assert types["email.send"]["creatable"] is False
    assert types["email.send"]["created_through"] == "POST /api/v1/emails"
    resp = account.post("/api/v1/jobs", json={"type": "email.send", "payload": {}})
    body = assert_error(resp, 422, "VALIDATION_ERROR")
    assert body["message"] == "POST /jobs does not take 'email.send' jobs: queue it with POST /api/v1/emails."
    assert "POST /api/v1/emails" in body["details"]["fields"]["json"]["type"][0]
    internal = account.post("/api/v1/jobs", json={"type": "webhook.deliver", "payload": {}})
    assert "the hub queues these itself" in assert_error(internal, 422, "VALIDATION_ERROR")["message"]
    unknown = account.post("/api/v1/jobs", json={"type": "no.such", "payload": {}})
    assert assert_error(unknown, 422, "VALIDATION_ERROR")["message"] == (
        "Unknown job type 'no.such'; GET /api/v1/jobs/types lists them.")


def test_refreshing_with_an_access_token_says_to_send_the_refresh_token(client, register):
    account = register()
    resp = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {account.access}"})
    body = assert_error(resp, 401, "UNAUTHORIZED")
    assert body["message"].startswith("This is an access token.")
    assert "refresh token" in body["message"]
    # And the other way round: a refresh token where an access token is needed.
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {account.refresh}"})
    assert assert_error(me, 401, "UNAUTHORIZED")["message"].startswith("This is a refresh token.")
    # The refresh token itself still works.
    ok = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {account.refresh}"})
    assert ok.status_code == 200


def _multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--B\r\nContent-Disposition: {disposition}\r\n".encode()
        body += (b"Content-Type: text/csv\r\n" if filename else b"") + b"\r\n" + data + b"\r\n"
    return body + b"--B--\r\n", "multipart/form-data; boundary=B"


SCHEMA = b'{"columns": [{"name": "email", "type": "email"}]}'


def test_an_upload_with_a_field_after_the_file_says_to_send_the_field_first(register):
    account = register()
    body, content_type = _multipart(("file", "people.csv", b"email\nann@example.com\n"),
                                    ("csv_schema", None, SCHEMA))
    resp = account.post("/api/v1/files", data=body, content_type=content_type)
    err = assert_error(resp, 422, "VALIDATION_ERROR")
    assert err["message"].startswith("Form fields go before the file: send 'csv_schema' first")
    assert err["details"]["fields"] == {"form": {"csv_schema": ["must come before the file part"]}}
    assert account.get("/api/v1/files").get_json()["data"] == []  # nothing was kept
    # Two files: that message names the second one.
    body, content_type = _multipart(("file", "a.csv", b"email\n"), ("other", "b.csv", b"email\n"))
    two = assert_error(account.post("/api/v1/files", data=body, content_type=content_type),
                       422, "VALIDATION_ERROR")
    assert two["message"] == "Send one file per request; this one has a second file part 'other'."
    # The order the message asks for is accepted.
    body, content_type = _multipart(("csv_schema", None, SCHEMA),
                                    ("file", "people.csv", b"email\nann@example.com\n"))
    assert account.post("/api/v1/files", data=body, content_type=content_type).status_code == 201


def test_a_body_over_the_limit_is_413_with_the_limit_in_the_message(app, register):
    account = register()
    limit = app.config["MAX_CONTENT_LENGTH"]
    resp = account.post("/api/v1/jobs", data=b"x" * (limit + 1), content_type="application/json")
    body = assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    assert body["message"] == f"The request body is larger than the limit of 10 MiB ({limit} bytes)."
    assert body["details"]["max_bytes"] == limit
