"""Email end to end: the API queues, a real worker sends to a real SMTP server on loopback."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.email.conftest import SENDER
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

FAILED = {"template": "job_failed", "context": {
    "name": "Ann", "job_id": "j-42", "job_type": "file.process", "error_code": "TOO_BIG",
    "error_message": "30 minutes were not enough", "job_url": "https://hub.example.com/jobs?t=<secret>&x=1"}}


def submit(owner, body: dict) -> str:
    resp = owner.post("/api/v1/emails", json=body)
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["data"]["id"]


def job(owner, job_id: str) -> dict:
    return owner.get(f"/api/v1/jobs/{job_id}").get_json()["data"]


def test_templated_email_arrives_with_both_parts_and_a_job_derived_message_id(
        register, smtp_sink, mail_worker):
    owner = register()
    job_id = submit(owner, {"to": ["ann@example.com", "bob@example.com"], **FAILED})
    done = wait_for_job(owner, job_id, "succeeded", timeout=45)
    [got] = smtp_sink.messages()
    message_id = f"<{job_id}.email@tests.example>"
    assert got.message["Message-ID"] == message_id
    assert got.message["Subject"] == "Your file.process job failed"
    assert got.message["From"] == SENDER
    assert sorted(got.rcpt_tos) == ["ann@example.com", "bob@example.com"]
    assert sorted(a.strip() for a in got.message["To"].split(",")) == sorted(got.rcpt_tos)
    # The plain part carries the link as given; the HTML part escapes it.
    assert "https://hub.example.com/jobs?t=<secret>&x=1" in got.text
    assert 'href="https://hub.example.com/jobs?t=&lt;secret&gt;&amp;x=1"' in got.html
    assert "30 minutes" in got.text and "30 minutes" in got.html
    assert done["attempts"] == 1
    assert done["result"] == {"message_id": message_id, "accepted": ["ann@example.com", "bob@example.com"],
                              "refused": {}, "suppressed": False}


def test_smtp_outage_is_retried_and_the_message_is_delivered_once(register, smtp_sink, mail_worker):
    owner = register()
    smtp_sink.stop()
    job_id = submit(owner, {"to": ["ann@example.com"], "subject": "During the outage", "text": "hi"})
    retrying = wait_for_job(owner, job_id, "retrying", timeout=45)
    assert retrying["error"]["code"] == "SMTP_UNAVAILABLE"
    smtp_sink.start()
    done = wait_for_job(owner, job_id, "succeeded", timeout=45)
    assert done["attempts"] >= 2
    time.sleep(1)  # nothing more arrives later either
    [got] = smtp_sink.messages()
    assert got.message["Subject"] == "During the outage"
    assert got.message["Message-ID"] == f"<{job_id}.email@tests.example>"


def test_a_4xx_deferral_is_retried_with_the_same_message_id(register, smtp_sink, mail_worker):
    owner = register()
    smtp_sink.data_replies.append("451 4.7.1 greylisted, try again later")
    job_id = submit(owner, {"to": ["ann@example.com"], "subject": "Greylisted", "text": "hi"})
    done = wait_for_job(owner, job_id, "succeeded", timeout=45)
    assert done["attempts"] == 2
    events = owner.get(f"/api/v1/jobs/{job_id}/events?per_page=100").get_json()["data"]
    [deferred] = [e for e in events if e["status"] == "retrying"]
    assert deferred["data"]["error"]["code"] == "SMTP_TEMPORARY"
    assert "451 4.7.1 greylisted" in deferred["data"]["error"]["message"]
    [got] = smtp_sink.messages()
    assert got.message["Message-ID"] == f"<{job_id}.email@tests.example>"


def test_a_5xx_rejection_fails_at_once_with_a_clear_error(register, smtp_sink, mail_worker):
    owner = register()
    smtp_sink.rcpt_replies["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: no such user"
    job_id = submit(owner, {"to": ["nobody@example.com"], "subject": "Hello?", "text": "hi"})
    failed = wait_for_job(owner, job_id, "failed", timeout=45)
    assert failed["attempts"] == 1 and failed["next_attempt_at"] is None
    assert failed["error"]["code"] == "SMTP_RECIPIENTS_REFUSED"
    assert "nobody@example.com: 550 5.1.1" in failed["error"]["message"]
    assert smtp_sink.messages() == []


def test_new_owner_gets_the_welcome_mail(register, smtp_sink, mail_worker, welcome_mail):
    owner = register(tenant_name="Acme Widgets")
    wait_until(lambda: smtp_sink.to(owner.email), 45, "the welcome mail")
    [got] = smtp_sink.to(owner.email)
    assert got.message["Subject"] == "Welcome to the Integration Hub, Owner"
    assert '"Acme Widgets"' in got.text and "<strong>Acme Widgets</strong>" in got.html
    assert got.message["Auto-Submitted"] == "auto-generated"


def test_creator_is_notified_when_a_job_they_asked_about_finishes(app, register, smtp_sink,
                                                                  mail_worker):
    from hub import jobs
    from hub.models import Job

    owner = register()
    ok = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0.1},
                                          "notify": True}).get_json()["data"]["id"]
    bad = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "notify": True,
                                           "payload": {"seconds": 0.1, "fail_times": 3}}
                     ).get_json()["data"]["id"]
    quiet = owner.post("/api/v1/jobs", json={"type": "demo.sleep",
                                             "payload": {"seconds": 0.1}}).get_json()["data"]["id"]
    with app.app_context():  # an email job asking for a notice must not mail about itself
        mail_job = jobs.create_job(owner.tenant["id"], "email.send",
                                   {"to": ["ann@example.com"], "subject": "s", "text": "t"},
                                   created_by=owner.user["id"], internal=True, notify=True)
        mail_id = str(mail_job.id)
        jobs.commit_and_dispatch()
    for job_id, status in ((ok, "succeeded"), (bad, "failed"), (quiet, "succeeded"),
                           (mail_id, "succeeded")):
        wait_for_job(owner, job_id, status, timeout=45)
    wait_until(lambda: len(smtp_sink.to(owner.email)) >= 2, 45, "two notices")
    time.sleep(1)  # and no third one
    notices = {m.message["Subject"]: m for m in smtp_sink.to(owner.email)}
    assert set(notices) == {"Your demo.sleep job succeeded", "Your demo.sleep job failed"}
    assert ok in notices["Your demo.sleep job succeeded"].text
    failed = notices["Your demo.sleep job failed"]
    assert bad in failed.text and "DEMO_FAILURE" in failed.text
    assert [m.rcpt_tos for m in smtp_sink.messages()].count(["ann@example.com"]) == 1
    assert len(smtp_sink.messages()) == 3
    with app.app_context():
        from hub.extensions import db

        notice_jobs = db.session.query(Job).filter(Job.type == "email.send",
                                                   Job.id != uuid.UUID(mail_id)).all()
        assert {j.payload["context"]["job_id"] for j in notice_jobs} == {ok, bad}
