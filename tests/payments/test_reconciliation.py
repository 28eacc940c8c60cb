"""payments.reconcile: a generated month, tenant scoping, Stripe failures, nightly runs, end to end."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import stripe_data as sd
from sqlalchemy import select

from hub.extensions import db
from hub.jobs import events
from hub.models import Job, JobEvent, utcnow
from hub.models.payment import Invoice, Reconciliation, StripeLink
from hub.services.payments import reconciliation
from tests.payments.helpers import link_directly
from tests.support.helpers import PASSWORD, assert_error
from tests.support.jobs import run_queued_jobs
from tests.support.processes import WebHub, wait_until
from tests.support.socket_client import RecordingClient

ACCOUNT = "acct_1MonthTenant0001"


@pytest.fixture
def owner(register):
    return register()


@pytest.fixture
def published(monkeypatch):
    seen: list[tuple] = []
    monkeypatch.setitem(events._listeners, "payment.reconciled",
                        [*events._listeners.get("payment.reconciled", []),
                         lambda t, n, d: seen.append((t, n, d))])
    return seen


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def insert_invoices(tenant_id: str, planned: list[sd.PlannedInvoice]) -> None:
    db.session.add_all(Invoice(id=uuid.uuid4(), tenant_id=uuid.UUID(tenant_id), number=p.number,
                               customer_ref=p.customer_ref, amount=p.amount, currency=p.currency,
                               due_date=p.due_date, status="open", stripe_customer_id=p.stripe_customer_id,
                               stripe_payment_intent_id=p.stripe_payment_intent_id) for p in planned)
    db.session.commit()


def link(owner, kind: str, stripe_id: str) -> None:
    link_directly(owner.client.application, owner.tenant["id"], kind, stripe_id)


def reconcile(owner, start: datetime, end: datetime) -> dict:
    resp = owner.post("/api/v1/payments/reconciliations", json={"from": _iso(start), "to": _iso(end)})
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["data"]


def got(report: dict, kind: str) -> set[str]:
    items = report[kind]["items"]
    assert report[kind]["count"] == len(items) and not report[kind]["truncated"]
    if kind == "unmatched":
        return {i["id"] for i in items}
    return {i["invoice"]["number"] if "invoice" in i else i["number"] for i in items}


def test_a_generated_month_finds_exactly_the_planted_mismatches(app_ctx, owner, fake_stripe, stripe_config,
                                                                published):
    link(owner, "account", ACCOUNT)
    customers = [sd.new_id("cus") for _ in range(40)]
    month = sd.generate_month(fake_stripe, customers, paid=2000, planted=7, account=ACCOUNT)
    insert_invoices(owner.tenant["id"], month.invoices)
    # Noise outside the period and in another account must not count.
    sd.generate_month(fake_stripe, customers, month=9, paid=50, planted=1, account=ACCOUNT, seed=9)
    sd.generate_month(fake_stripe, customers, paid=50, planted=1, account="acct_someoneelse", seed=8)

    job = reconcile(owner, month.start, month.end)
    assert job["type"] == "payments.reconcile" and job["status"] == "queued"
    queued = owner.get(f"/api/v1/payments/reconciliations/{job['reconciliation_id']}").get_json()["data"]
    assert queued["status"] == "queued" and queued["report"] is None and queued["job"]["id"] == job["id"]

    assert run_queued_jobs(job_type="payments.reconcile") == [job["id"]]
    rec = owner.get(f"/api/v1/payments/reconciliations/{job['reconciliation_id']}").get_json()["data"]
    assert rec["status"] == "succeeded" and rec["job"]["status"] == "succeeded"
    assert (rec["from"], rec["to"]) == (_iso(month.start), _iso(month.end))
    report = rec["report"]
    assert report["transactions"] == month.transactions > 2000
    for kind, planted in month.expected.items():
        assert got(report, kind) == planted, kind
    assert report["matched"]["count"] == 2000
    totals = report["totals"]["eur"]
    assert {k: totals[k] for k in month.totals} == month.totals
    assert report["payouts"]["count"] == 4 and report["pages"] >= 21
    # Progress was reported while pages were read; the tenant heard about the result.
    messages = [e.message for e in db.session.scalars(
        select(JobEvent).where(JobEvent.job_id == uuid.UUID(job["id"]), JobEvent.kind == "progress"))]
    assert any(m.startswith("read ") and "Stripe transactions" in m for m in messages)
    assert [(str(t), d["reconciliation_id"]) for t, _n, d in published] == [
        (owner.tenant["id"], job["reconciliation_id"])]
    assert published[0][2]["counts"]["duplicates"] == 7
    listed = owner.get("/api/v1/payments/reconciliations").get_json()["data"]
    assert [r["id"] for r in listed] == [job["reconciliation_id"]]


def test_on_the_platform_account_a_tenant_sees_only_its_customers(app_ctx, register, fake_stripe,
                                                                   stripe_config):
    alice, bob = register(), register()
    mine, theirs = [sd.new_id("cus") for _ in range(5)], [sd.new_id("cus") for _ in range(5)]
    for cus in mine:
        link(alice, "customer", cus)
    for cus in theirs:
        link(bob, "customer", cus)
    month = sd.generate_month(fake_stripe, mine, paid=200, planted=2)
    sd.generate_month(fake_stripe, theirs, paid=200, planted=2, seed=11)
    insert_invoices(alice.tenant["id"], month.invoices)
    job = reconcile(alice, month.start, month.end)
    run_queued_jobs(job_type="payments.reconcile")
    path = f"/api/v1/payments/reconciliations/{job['reconciliation_id']}"
    report = alice.get(path).get_json()["data"]["report"]
    for kind in ("unmatched", "unpaid", "partly_paid", "amount_mismatches", "currency_mismatches",
                 "duplicates"):
        assert got(report, kind) == month.expected[kind], kind
    assert report["matched"]["count"] == 200 and report["skipped"] > 200
    assert report["totals"]["eur"]["gross"] == month.totals["gross"]
    assert_error(bob.get(f"/api/v1/payments/reconciliations/{job['reconciliation_id']}"), 404, "NOT_FOUND")


def test_rate_limited_by_stripe_the_job_retries_after_retry_after(app_ctx, owner, fake_stripe, stripe_config):
    link(owner, "account", ACCOUNT)
    month = sd.generate_month(fake_stripe, [sd.new_id("cus")], paid=20, planted=1, account=ACCOUNT)
    fake_stripe.fail_next(429, count=50, retry_after=240)
    job = reconcile(owner, month.start, month.end)
    run_queued_jobs(job_type="payments.reconcile")
    row = db.session.get(Job, uuid.UUID(job["id"]))
    assert row.status == "retrying" and row.error["code"] == "STRIPE_UNAVAILABLE"
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=230)  # honours Retry-After
    fake_stripe.clear_faults()
    run_queued_jobs(job_type="payments.reconcile")
    done = owner.get(f"/api/v1/payments/reconciliations/{job['reconciliation_id']}").get_json()["data"]
    assert done["status"] == "succeeded" and db.session.get(Job, row.id).attempts == 2


def test_an_invalid_api_key_fails_at_once_with_a_clear_error(app, app_ctx, owner, fake_stripe,
                                                             stripe_config, monkeypatch):
    link(owner, "account", ACCOUNT)
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_revoked")
    job = reconcile(owner, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    run_queued_jobs(job_type="payments.reconcile")
    row = db.session.get(Job, uuid.UUID(job["id"]))
    assert (row.status, row.attempts, row.error["code"]) == ("failed", 1, "STRIPE_AUTH_FAILED")
    rec = owner.get(f"/api/v1/payments/reconciliations/{job['reconciliation_id']}").get_json()["data"]
    assert rec["status"] == "failed" and rec["error"]["code"] == "STRIPE_AUTH_FAILED"
    assert "STRIPE_API_KEY" in rec["error"]["message"] and "revoked" not in rec["error"]["message"]


def test_bad_periods_and_foreign_ids(owner, fake_stripe, stripe_config):
    for body in ({"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
                 {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                 {"from": "2026-10-01T00:00:00", "to": "2026-10-02T00:00:00Z"},
                 {"to": "2026-10-02T00:00:00Z"}):
        assert_error(owner.post("/api/v1/payments/reconciliations", json=body), 422, "VALIDATION_ERROR")
    assert_error(owner.get(f"/api/v1/payments/reconciliations/{uuid.uuid4()}"), 404, "NOT_FOUND")


def test_post_jobs_can_queue_a_reconciliation_too(app_ctx, owner, fake_stripe, stripe_config):
    link(owner, "account", ACCOUNT)
    resp = owner.post("/api/v1/jobs", json={"type": "payments.reconcile", "payload": {
        "from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}})
    assert resp.status_code == 202
    run_queued_jobs(job_type="payments.reconcile")
    recs = owner.get("/api/v1/payments/reconciliations").get_json()["data"]
    assert [(r["trigger"], r["status"], r["job_id"]) for r in recs] == [
        ("job", "succeeded", resp.get_json()["data"]["id"])]


def test_nightly_queues_yesterday_once_per_tenant_with_stripe(app, app_ctx, register, fake_stripe,
                                                              stripe_config, monkeypatch):
    linked, unlinked = register(), register()
    link(linked, "customer", "cus_nightly1")
    now = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
    assert reconciliation.queue_nightly(now) == 1
    assert reconciliation.queue_nightly(now + timedelta(hours=1)) == 0  # the next beat tick
    recs = db.session.scalars(select(Reconciliation)).all()
    yesterday = datetime(2026, 11, 26, tzinfo=UTC)
    assert [(str(r.tenant_id), r.trigger, r.period_from, r.period_to) for r in recs] == [
        (linked.tenant["id"], "nightly", yesterday, yesterday + timedelta(days=1))]
    assert db.session.get(Job, recs[0].job_id).type == "payments.reconcile"
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", None)
    assert reconciliation.queue_nightly(now + timedelta(days=1)) == 0  # not configured: nothing
    assert unlinked and db.session.scalar(select(StripeLink.tenant_id)) == uuid.UUID(linked.tenant["id"])


def test_the_nightly_beat_entry_is_declared(app):
    import tasks.payments  # noqa: F401  (declares its beat entry)
    from workers import periodic

    schedule = periodic.beat_schedule(app)
    entry = schedule["hub.maintenance.payments_nightly_reconcile"]
    assert entry["schedule"] == app.config["STRIPE_NIGHTLY_CHECK_SECONDS"]


@pytest.mark.e2e
def test_reconciliation_end_to_end_reaches_the_browser(app, base_config, stripe_config, fake_stripe,
                                                        payments_worker, process_logs):
    # The API and its realtime process, as the Procfile runs them: the browser's
    # notification comes over the realtime server's socket.
    web = WebHub({**base_config, **stripe_config}, process_logs)
    base = web.url
    sock = None
    try:
        payments_worker()
        reg = requests.post(base + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "E2E Pay", "name": "U", "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD}).json()["data"]
        headers = {"Authorization": f"Bearer {reg['access_token']}"}
        link_directly(app, reg["user"]["tenant_id"], "account", ACCOUNT)
        month = sd.generate_month(fake_stripe, [sd.new_id("cus") for _ in range(10)], paid=300, planted=3,
                                  account=ACCOUNT)
        with app.app_context():
            insert_invoices(reg["user"]["tenant_id"], month.invoices)
        sock = RecordingClient(base, reg["access_token"])
        resp = requests.post(base + "/api/v1/payments/reconciliations", headers=headers, timeout=10,
                             json={"from": _iso(month.start), "to": _iso(month.end)})
        assert resp.status_code == 202, resp.text
        job = resp.json()["data"]
        sock.wait_for_status(job["id"], "succeeded", timeout=60)
        notes = wait_until(lambda: [d for n, d in sock.events if n == "notification"], 10, "notification")
        assert notes[0]["kind"] == "reconciliation.finished"
        assert notes[0]["data"]["reconciliation_id"] == job["reconciliation_id"]
        assert notes[0]["data"]["counts"]["unpaid"] == 3
        rec = requests.get(f"{base}/api/v1/payments/reconciliations/{job['reconciliation_id']}",
                           headers=headers, timeout=10).json()["data"]
        assert got(rec["report"], "duplicates") == month.expected["duplicates"]
    finally:
        if sock is not None:
            sock.close()
        web.stop()
