"""Secrets never reach the logs, of the API or of a real worker: passwords, tokens, API keys,
webhook secrets, connector credentials used in a sync, the SMTP password used to send mail,
the Stripe key used from both processes, Stripe's webhook signature.

Every step must succeed (a step that failed early would log nothing and prove nothing),
and both logs are read at DEBUG."""
from __future__ import annotations

import logging
import re

import pytest

from tests.payments.conftest import WEBHOOK_SECRET, event_body, sign
from tests.security.conftest import HOOK_URL, STRIPE
from tests.support.certs import self_signed
from tests.support.helpers import PASSWORD
from tests.support.http_fake import FakeHTTPServer
from tests.support.jobs import wait_for_job
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

CONNECTOR_TOKEN = "sk-connector-" + "t" * 20
SMTP_USER, SMTP_PASSWORD = "hub-mailer", "smtp-secret-" + "s" * 16


@pytest.fixture
def smtp(tmp_path):
    from localservices import free_port

    sink = SmtpSink(free_port(), tls="starttls", certificate=self_signed(tmp_path),
                    login=(SMTP_USER, SMTP_PASSWORD))
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def source():
    def items(request):
        if request.headers.get("authorization") != f"Bearer {CONNECTOR_TOKEN}":
            return 401
        return {"items": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]}

    with FakeHTTPServer(items) as server:
        yield server


@pytest.fixture
def worker(workers, smtp, security_stripe):
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_USE_TLS": True,
                "MAIL_USERNAME": SMTP_USER, "MAIL_PASSWORD": SMTP_PASSWORD, "MAIL_SUPPRESS_SEND": False,
                "MAIL_TLS_CA_FILE": str(smtp.certificate.cert_file),
                "MAIL_DEFAULT_SENDER": "Hub <hub@tests.example>", "MAIL_TIMEOUT": 5,
                **STRIPE, "STRIPE_API_BASE": security_stripe.url, "LOG_LEVEL": "DEBUG"}
    return workers.worker("secrets", settings, loglevel="DEBUG")


def _ok(resp, status: int = 200):
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["data"]


def test_no_secret_is_logged_by_the_api_or_the_worker(app, client, register, caplog, worker, smtp, source):
    caplog.set_level(logging.DEBUG)
    owner = register(password=PASSWORD)
    login = _ok(client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}))
    access, refresh = login["access_token"], login["refresh_token"]
    headers = {"Authorization": f"Bearer {access}"}
    key = _ok(client.post("/api/v1/api-keys", json={"name": "ci"}, headers=headers), 201)["key"]
    _ok(client.get("/api/v1/jobs", headers={"X-API-Key": key}))
    hook = _ok(client.post("/api/v1/webhook-endpoints", headers=headers,
                           json={"url": HOOK_URL, "events": ["job.failed"]}), 201)
    rotated = _ok(client.post(f"/api/v1/webhook-endpoints/{hook['id']}/rotate-secret",
                              headers=headers))["secret"]

    # A sync on the worker, with the connector's credentials (first a wrong one: refused).
    connection = _ok(client.post("/api/v1/connections", headers=headers, json={
        "connector": "rest", "name": "Shop", "config": {"url": source.url("/items")},
        "credentials": {"token": CONNECTOR_TOKEN + "-old"}}), 201)
    failed = _ok(client.post(f"/api/v1/connections/{connection['id']}/sync", headers=headers), 202)
    wait_for_job(owner, failed["id"], "failed")
    _ok(client.patch(f"/api/v1/connections/{connection['id']}", headers=headers,
                     json={"credentials": {"token": CONNECTOR_TOKEN}}))
    synced = _ok(client.post(f"/api/v1/connections/{connection['id']}/sync", headers=headers), 202)
    assert wait_for_job(owner, synced["id"], "succeeded")["result"]["created"] == 2

    # Mail from the worker over STARTTLS with a login.
    mail = _ok(client.post("/api/v1/emails", headers=headers, json={
        "to": ["ann@example.com"], "subject": "Hello", "text": "Hi Ann"}), 202)
    wait_for_job(owner, mail["id"], "succeeded")
    (received,) = smtp.messages()
    assert received.login == SMTP_USER and received.tls

    # Stripe from the API (a customer) and from the worker (a reconciliation), and its webhook.
    _ok(client.post("/api/v1/payments/customers", headers=headers, json={"name": "Shop"}), 201)
    rec = _ok(client.post("/api/v1/payments/reconciliations", headers=headers, json={
        "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}), 202)
    wait_for_job(owner, rec["id"], "succeeded")
    event = event_body("customer.created", {"id": "cus_logcheck", "object": "customer"})
    assert client.post("/api/v1/webhooks/stripe", data=event, content_type="application/json",
                       headers={"Stripe-Signature": sign(event)}).status_code == 200

    assert client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD + "!"}
                       ).status_code == 401
    new = _ok(client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}))
    assert client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}
                       ).status_code == 401  # reuse: warned, and the login ends
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {new['access_token']}"},
                       json={"refresh_token": new["refresh_token"]}).status_code == 401  # ended already
    worker.stop()  # flush everything it had to say

    api_log = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    worker_log = worker.log_path.read_text(errors="replace")
    # The logs are there and speak of this work, or the scan would prove nothing.
    assert "sync" in worker_log and "email" in worker_log and "reconcil" in worker_log
    assert re.search(r" DEBUG \[[\w.]+\] \[req=\w+ job=[\w-]+\]", worker_log)  # debug lines from tasks
    assert caplog.records
    secrets = {"password": PASSWORD, "access token": access, "refresh token": refresh,
               "api key": key, "webhook secret": hook["secret"], "rotated secret": rotated,
               "new access": new["access_token"], "connector credentials": CONNECTOR_TOKEN,
               "SMTP password": SMTP_PASSWORD, "Stripe API key": STRIPE["STRIPE_API_KEY"],
               "Stripe webhook secret": WEBHOOK_SECRET, "Stripe signature": sign(event).split("v1=")[1]}
    for where, logged in (("API", api_log), ("worker", worker_log)):
        for name, value in secrets.items():
            assert value not in logged, f"the {name} was in the {where} log"
            # Nor its tail alone (a token logged truncated is still a credential).
            assert value.split(".")[-1][-24:] not in logged, f"part of the {name} was in the {where} log"

