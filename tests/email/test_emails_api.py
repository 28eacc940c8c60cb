"""POST /emails and GET /emails/templates without a worker: validation, limits, queueing."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub.extensions import db
from hub.models import Job
from tests.support.helpers import assert_error

TEMPLATED = {"template": "job_succeeded",
             "context": {"name": "Ann", "job_id": "j-1", "job_type": "file.process"}}
RAW = {"subject": "Invoice 42", "text": "Please find it attached.", "html": "<p>Please.</p>"}


def email_jobs(owner) -> list[dict]:
    return owner.get("/api/v1/jobs?type=email.send&per_page=100").get_json()["data"]


@pytest.fixture
def daily_limit(app):
    previous = app.config["EMAIL_DAILY_LIMIT"]

    def set_limit(value: int) -> None:
        app.config["EMAIL_DAILY_LIMIT"] = value

    yield set_limit
    app.config["EMAIL_DAILY_LIMIT"] = previous


def test_templates_are_listed_with_the_context_each_needs(register):
    owner = register()
    resp = owner.get("/api/v1/emails/templates")
    assert resp.status_code == 200
    templates = {t["name"]: t for t in resp.get_json()["data"]}
    assert {"job_succeeded", "job_failed", "reconciliation_ready"} <= set(templates)
    report = templates["reconciliation_ready"]
    assert report["required_context"] == ["name", "period_from", "period_to", "reconciliation_id"]
    assert report["context_schema"]["properties"]["issues"]["type"] == "integer"
    assert report["description"]


def test_templated_email_is_queued_as_an_email_job(app, register):
    owner = register()
    resp = owner.post("/api/v1/emails", json={"to": ["Ann@Example.com", "ann@example.com",
                                                     "bob@example.com"], **TEMPLATED},
                      headers={"X-Request-ID": "req-mail-1"})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    job = body["data"]
    assert body["message"] == "Email queued."
    assert job["type"] == "email.send" and job["status"] == "queued"
    assert job["payload"] == {"to": ["Ann@Example.com", "bob@example.com"], **TEMPLATED}
    assert job["request_id"] == "req-mail-1" and job["created_by"] == owner.user["id"]
    assert job["max_attempts"] == 10
    with app.app_context():
        assert db.session.get(Job, uuid.UUID(job["id"])).queue == "email"
    audit = owner.get("/api/v1/audit-events?action=email.queued").get_json()["data"]
    assert [(a["object_id"], a["details"]) for a in audit] == [
        (job["id"], {"template": "job_succeeded", "recipients": 2})]


def test_plain_email_with_and_without_html(register):
    owner = register()
    with_html = owner.post("/api/v1/emails", json={"to": ["a@example.com"], **RAW})
    assert with_html.status_code == 202
    assert with_html.get_json()["data"]["payload"] == {"to": ["a@example.com"], **RAW}
    text_only = owner.post("/api/v1/emails", json={"to": ["a@example.com"], "subject": "s",
                                                   "text": "t"})
    assert text_only.status_code == 202
    assert "html" not in text_only.get_json()["data"]["payload"]


@pytest.mark.parametrize("body, where", [
    ({"to": ["a@example.com"], "template": "nope", "context": {}}, "template"),
    ({"to": ["a@example.com"], "template": "job_succeeded", "context": {"name": "Ann"}}, "context"),
    ({"to": ["a@example.com"], **TEMPLATED, "context": {**TEMPLATED["context"], "extra": 1}}, "context"),
    ({"to": ["a@example.com"], "template": "job_succeeded"}, "context"),
    ({"to": ["not-an-address"], **RAW}, "to"),
    ({"to": ["a@example.com\r\nBcc: victim@example.com"], **RAW}, "to"),
    ({"to": [], **RAW}, "to"),
    ({"to": "a@example.com", **RAW}, "to"),
    ({**RAW}, "to"),
    ({"to": ["a@example.com"], "subject": "s"}, "text"),
    ({"to": ["a@example.com"], "subject": "two\nlines", "text": "t"}, "subject"),
    ({"to": ["a@example.com"], **RAW, **TEMPLATED}, "subject"),
    ({"to": ["a@example.com"], "context": {}, "subject": "s", "text": "t"}, "template"),
], ids=["unknown-template", "missing-variable", "unknown-variable", "no-context", "bad-address",
        "header-injection", "no-recipients", "to-not-a-list", "to-missing", "no-text",
        "multi-line-subject", "template-and-subject", "context-without-template"])
def test_bad_input_is_422_and_queues_nothing(register, body, where):
    owner = register()
    resp = owner.post("/api/v1/emails", json=body)
    error = assert_error(resp, 422, "VALIDATION_ERROR")
    assert where in error["details"]["fields"]["json"], error
    assert email_jobs(owner) == []


def test_missing_context_variable_is_named_in_the_error(register):
    owner = register()
    resp = owner.post("/api/v1/emails", json={"to": ["a@example.com"], "template": "job_succeeded",
                                              "context": {"name": "Ann", "job_id": "j",
                                                          "job_url": "ftp://x"}})
    fields = assert_error(resp, 422, "VALIDATION_ERROR")["details"]["fields"]["json"]["context"]
    assert fields["job_type"] == ["required by the template 'job_succeeded'"]
    assert "job_url" in fields  # not an http(s) link


def test_too_many_recipients_is_422(app, register):
    owner = register()
    limit = app.config["EMAIL_MAX_RECIPIENTS"]
    to = [f"user{i}@example.com" for i in range(limit + 1)]
    error = assert_error(owner.post("/api/v1/emails", json={"to": to, **RAW}), 422, "VALIDATION_ERROR")
    assert error["details"]["fields"]["json"]["to"] == [f"{limit + 1} recipients; at most {limit}"]
    assert email_jobs(owner) == []
    assert owner.post("/api/v1/emails", json={"to": to[:limit], **RAW}).status_code == 202


def test_email_send_is_not_creatable_through_post_jobs(register):
    owner = register()
    resp = owner.post("/api/v1/jobs", json={"type": "email.send",
                                            "payload": {"to": ["a@example.com"], **RAW}})
    assert_error(resp, 422, "VALIDATION_ERROR")
    types = {t["name"]: t for t in owner.get("/api/v1/jobs/types").get_json()["data"]}
    assert types["email.send"]["creatable"] is False and types["email.send"]["queue"] == "email"


def test_daily_limit_counts_recipients_per_tenant_until_utc_midnight(register, daily_limit):
    daily_limit(3)
    owner, other = register(), register()
    send = lambda account, n: account.post(  # noqa: E731
        "/api/v1/emails", json={"to": [f"r{i}@example.com" for i in range(n)], **RAW})
    assert send(owner, 2).status_code == 202
    over = send(owner, 2)
    error = assert_error(over, 429, "RATE_LIMITED")
    retry_after = int(over.headers["Retry-After"])
    assert 1 <= retry_after <= 86400
    resets_in = error["details"].pop("resets_in_seconds")
    assert error["details"] == {"limit": 3, "remaining": 1, "requested": 2}
    assert abs(resets_in - retry_after) <= 2  # Flask-Limiter re-renders the header, rounding
    seconds_to_midnight = 86400 - (datetime.now(UTC) - datetime.now(UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    assert abs(resets_in - seconds_to_midnight) <= 5
    assert len(email_jobs(owner)) == 1  # the refused request queued nothing
    assert send(owner, 1).status_code == 202  # what is left can still be used
    assert_error(send(owner, 1), 429, "RATE_LIMITED")
    assert send(other, 3).status_code == 202  # another tenant has its own limit


def test_idempotent_repeat_queues_and_counts_once(register, daily_limit):
    daily_limit(2)
    owner = register()
    headers = {"Idempotency-Key": "newsletter-7"}
    body = {"to": ["a@example.com", "b@example.com"], **RAW}
    first = owner.post("/api/v1/emails", json=body, headers=headers)
    again = owner.post("/api/v1/emails", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["data"]["id"] == again.get_json()["data"]["id"]
    assert len(email_jobs(owner)) == 1


def test_sign_up_queues_the_welcome_mail_in_the_same_transaction(register, welcome_mail):
    owner = register(tenant_name="Acme Widgets")
    [job] = email_jobs(owner)
    assert job["payload"] == {"to": [owner.email], "template": "welcome", "context": {
        "name": "Owner", "tenant_name": "Acme Widgets", "email": owner.email}}
    assert job["created_by"] == owner.user["id"]


def test_no_welcome_mail_when_it_is_turned_off(register):
    owner = register()  # the suite's base_config turns EMAIL_TEMPLATED_ENABLED off
    assert email_jobs(owner) == []


def test_internal_mail_does_not_count_against_the_daily_limit(register, daily_limit, welcome_mail):
    daily_limit(1)
    owner = register()
    assert len(email_jobs(owner)) == 1  # the welcome mail
    assert owner.post("/api/v1/emails", json={"to": ["a@example.com"], **RAW}).status_code == 202


def _queued_ids(queue: str) -> list[str]:
    """Job ids of the messages waiting in a Redis queue, oldest first (kombu LPUSHes)."""
    from hub.extensions import redis_client

    return [json.loads(m)["headers"]["id"] for m in reversed(redis_client().lrange(queue, 0, -1))]


def test_a_welcome_mail_holds_one_of_its_tenants_slots_until_sent(app, register, welcome_mail):
    from hub import jobs
    from hub.models import utcnow

    tiers = app.config["JOB_TIER_LIMITS"]
    app.config["JOB_TIER_LIMITS"] = {**tiers, "standard": {"rate": "100 per minute", "concurrency": 2}}
    try:
        owner = register()
        [welcome] = email_jobs(owner)
        with app.app_context():
            assert _queued_ids("email") == [welcome["id"]]
        demo = {"type": "demo.sleep", "payload": {"seconds": 1}}
        first, second = (owner.post("/api/v1/jobs", json=demo).get_json()["data"]["id"] for _ in "12")
        with app.app_context():
            assert _queued_ids("default") == [first]  # the welcome mail holds the other slot
            sent = db.session.get(Job, uuid.UUID(welcome["id"]))
            sent.status, sent.finished_at = "succeeded", utcnow()
            db.session.get(Job, uuid.UUID(second)).created_at = utcnow() - timedelta(seconds=10)
            db.session.commit()
            assert jobs.relay()["dispatched"] == 1
            assert _queued_ids("default") == [first, second]
    finally:
        app.config["JOB_TIER_LIMITS"] = tiers


@pytest.mark.parametrize("template", ["welcome", "password_reset"])
def test_the_hubs_own_account_mails_are_neither_listed_nor_sendable(register, add_user, template):
    """A member could send the hub-branded password reset with any link."""
    owner = register()
    member = add_user(owner, "member")
    listed = {t["name"] for t in member.get("/api/v1/emails/templates").get_json()["data"]}
    assert template not in listed
    context = {"password_reset": {"name": "Ann", "reset_url": "https://evil.example/reset",
                                  "expires_minutes": 30},
               "welcome": {"name": "Ann", "tenant_name": "Acme", "email": "ann@example.com"}}[template]
    for who in (member, owner):
        resp = who.post("/api/v1/emails", json={"to": ["victim@example.com"], "template": template,
                                                "context": context})
        body = assert_error(resp, 422, "VALIDATION_ERROR")
        assert "template" in body["details"]["fields"]["json"]
        assert "hub's own" in body["message"]
    assert email_jobs(owner) == []
