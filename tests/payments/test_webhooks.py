"""POST /webhooks/stripe: signatures, the inbox, routing, and applying events in any order."""
from __future__ import annotations

import time

import pytest
import stripe_data as sd
from sqlalchemy import func, select

from hub.extensions import db
from hub.jobs import events
from hub.models import Job
from hub.models.payment import Invoice, StripeEvent
from tests.payments.conftest import event_body, post_event, sign
from tests.payments.helpers import link_directly, paid_invoice
from tests.support.helpers import assert_error
from tests.support.jobs import run_queued_jobs
from tests.support.processes import wait_until


@pytest.fixture
def owner(register):
    return register()


@pytest.fixture
def published(monkeypatch):
    """Domain events published during the test: [(tenant_id, type, data)]."""
    seen: list[tuple] = []
    for name in ("invoice.paid", "payment.reconciled"):
        monkeypatch.setitem(events._listeners, name,
                            [*events._listeners.get(name, []), lambda t, n, d: seen.append((t, n, d))])
    return seen


def _rows(model) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model))


def _invoice(invoice_id: str) -> Invoice:
    db.session.commit()
    return db.session.get(Invoice, invoice_id)


def test_signed_event_is_stored_once_and_queued_for_its_tenant(app_ctx, client, owner, fake_stripe,
                                                               stripe_config):
    paid = paid_invoice(owner, fake_stripe)
    body = event_body("invoice.paid", paid.stripe_invoice)
    resp = post_event(client, body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()["data"]
    assert data["received"] is True and data["duplicate"] is False and data["status"] == "queued"
    stored = db.session.get(StripeEvent, data["event_id"])
    assert stored.type == "invoice.paid" and str(stored.tenant_id) == owner.tenant["id"]
    jobs = db.session.scalars(select(Job)).all()
    assert [(j.type, str(j.tenant_id), j.payload) for j in jobs] == [
        ("payments.process_event", owner.tenant["id"], {"event_id": data["event_id"]})]


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "old timestamp", "missing header",
                                  "garbage header", "not json"])
def test_bad_signatures_are_400_and_nothing_is_stored(app_ctx, client, owner, fake_stripe,
                                                      stripe_config, case):
    paid = paid_invoice(owner, fake_stripe)
    body = event_body("invoice.paid", paid.stripe_invoice)
    signature = {"wrong secret": sign(body, secret="whsec_someone_else"),
                 "tampered body": sign(body),
                 "old timestamp": sign(body, timestamp=int(time.time()) - 301),
                 "missing header": None,
                 "garbage header": "t=abc,v1",
                 "not json": sign(b"not json")}[case]
    if case == "tampered body":
        body = body.replace(b'"amount_paid": 12500', b'"amount_paid": 99')
    if case == "not json":
        body = b"not json"
    resp = post_event(client, body, signature)
    assert_error(resp, 400, "BAD_REQUEST")
    assert _rows(StripeEvent) == 0 and _rows(Job) == 0


def test_the_same_event_twice_is_processed_once(app_ctx, client, owner, fake_stripe, stripe_config,
                                                published):
    paid = paid_invoice(owner, fake_stripe)
    body = event_body("invoice.paid", paid.stripe_invoice)
    first, again = post_event(client, body), post_event(client, body)
    assert first.status_code == again.status_code == 200
    assert again.get_json()["data"]["duplicate"] is True
    assert _rows(StripeEvent) == 1 and _rows(Job) == 1
    assert len(run_queued_jobs()) == 1
    invoice = _invoice(paid.invoice["id"])
    assert (invoice.status, invoice.amount_paid) == ("paid", 12_500)
    assert invoice.stripe_payment_intent_id == paid.payment_intent["id"]  # learnt from Stripe
    assert [(n, d["id"]) for _t, n, d in published] == [("invoice.paid", paid.invoice["id"])]
    # A third delivery (Stripe retries for days) still does nothing.
    assert post_event(client, body).get_json()["data"]["duplicate"] is True
    assert run_queued_jobs() == [] and len(published) == 1


def _state(invoice: Invoice) -> tuple:
    return (invoice.status, invoice.amount_paid, invoice.amount_refunded, invoice.paid_at,
            invoice.stripe_charge_id is not None, invoice.stripe_payment_intent_id is not None,
            invoice.last_payment_error, invoice.payment_attempts)


def _lifecycle(paid) -> list[bytes]:
    """Everything Stripe sends for one paid (and maybe refunded) invoice, in Stripe's order."""
    bodies = [event_body("invoice.payment_failed", paid.stripe_invoice),
              event_body("payment_intent.succeeded", paid.payment_intent),
              event_body("charge.succeeded", paid.charge),
              event_body("invoice.paid", paid.stripe_invoice)]
    if paid.charge["amount_refunded"]:
        bodies.append(event_body("charge.refunded", paid.charge))
    return bodies


def test_events_in_reverse_order_leave_the_same_invoices(app_ctx, client, owner, fake_stripe,
                                                         stripe_config, published):
    at = int(time.time()) - 600  # the same Stripe timestamps for all, so paid_at can be compared
    in_order, reversed_ = paid_invoice(owner, fake_stripe, at=at), paid_invoice(owner, fake_stripe, at=at)
    refunded_in_order = paid_invoice(owner, fake_stripe, refunded=2_500, at=at)
    refunded_reversed = paid_invoice(owner, fake_stripe, refunded=2_500, at=at)
    for paid, backwards in ((in_order, False), (reversed_, True), (refunded_in_order, False),
                            (refunded_reversed, True)):
        bodies = _lifecycle(paid)
        for body in reversed(bodies) if backwards else bodies:
            assert post_event(client, body).status_code == 200
            run_queued_jobs()
    a, b = _invoice(in_order.invoice["id"]), _invoice(reversed_.invoice["id"])
    assert _state(a) == _state(b)
    assert a.status == "paid" and a.last_payment_error is None and a.payment_attempts == 1
    c, d = _invoice(refunded_in_order.invoice["id"]), _invoice(refunded_reversed.invoice["id"])
    assert _state(c) == _state(d)
    assert (c.status, c.amount_paid, c.amount_refunded) == ("partially_paid", 12_500, 2_500)
    # invoice.paid announced once per invoice that became paid, whatever the order.
    paid_ids = sorted(d["id"] for _t, n, d in published if n == "invoice.paid")
    assert paid_ids == sorted([str(a.id), str(b.id), str(c.id), str(d.id)])


def test_applying_an_event_again_changes_nothing(app_ctx, client, owner, fake_stripe, stripe_config,
                                                 published):
    paid = paid_invoice(owner, fake_stripe)
    post_event(client, event_body("invoice.paid", paid.stripe_invoice))
    job_id = run_queued_jobs()[0]
    before = _state(_invoice(paid.invoice["id"]))
    retry = owner.post(f"/api/v1/jobs/{job_id}/retry")
    assert retry.status_code == 409  # it succeeded; a second application must come from somewhere else
    job = db.session.get(Job, job_id)
    job.status, job.dispatched_at = "queued", None  # as if the broker delivered it twice
    db.session.commit()
    run_queued_jobs()
    assert _state(_invoice(paid.invoice["id"])) == before and before[0] == "paid"
    assert len([1 for _t, n, _d in published if n == "invoice.paid"]) == 1


def test_an_unknown_customer_is_stored_but_routed_nowhere(app_ctx, client, owner, fake_stripe,
                                                          stripe_config):
    obj = sd.charge(sd.new_id("ch"), 500, "eur", "cus_nobodyknows", int(time.time()))
    resp = post_event(client, event_body("charge.succeeded", obj))
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "unrouted"
    assert _rows(StripeEvent) == 1 and _rows(Job) == 0


def test_the_payload_cannot_pick_the_tenant(app_ctx, client, register, fake_stripe, stripe_config):
    victim, other = register(), register()
    paid = paid_invoice(victim, fake_stripe)
    # A signed event whose snapshot names the victim's customer, about a charge that
    # (per Stripe, re-read by the worker) belongs to someone else: nothing is applied.
    foreign = fake_stripe.put(sd.charge(sd.new_id("ch"), 12_500, "eur", "cus_someoneelse", int(time.time()),
                                        payment_intent_id=paid.payment_intent["id"]))
    claimed = {**foreign, "customer": paid.customer}
    post_event(client, event_body("charge.succeeded", claimed))
    run_queued_jobs()
    stored = db.session.scalars(select(StripeEvent)).one()
    assert stored.status == "processed" and stored.result["applied"] is False
    assert _invoice(paid.invoice["id"]).status == "open"
    assert other  # the other tenant exists and got no job
    assert {str(j.tenant_id) for j in db.session.scalars(select(Job))} == {victim.tenant["id"]}


def test_payment_failed_is_recorded_from_stripes_state(app_ctx, client, owner, fake_stripe, stripe_config):
    paid = paid_invoice(owner, fake_stripe)
    failing = fake_stripe.put({**paid.stripe_invoice, "status": "open", "amount_paid": 0,
                               "attempt_count": 2, "status_transitions": {}})
    post_event(client, event_body("invoice.payment_failed", failing))
    run_queued_jobs()
    invoice = _invoice(paid.invoice["id"])
    assert invoice.status == "open" and invoice.payment_attempts == 2
    assert "2 attempt" in invoice.last_payment_error
    body = owner.get(f"/api/v1/invoices/{invoice.id}").get_json()["data"]
    assert body["payment_attempts"] == 2 and body["last_payment_error"]


def test_without_stripe_configured_the_webhook_is_503(app_ctx, client, owner):
    body = event_body("charge.succeeded", {"id": "ch_1", "object": "charge"})
    assert_error(post_event(client, body), 503, "SERVICE_UNAVAILABLE")
    assert _rows(StripeEvent) == 0


def test_a_body_over_the_cap_is_413_and_not_stored(app, app_ctx, client, owner, fake_stripe,
                                                   stripe_config, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_MAX_BYTES", 2048)
    obj = {**sd.charge("ch_big", 500, "eur", "cus_x", 1), "metadata": {"pad": "x" * 4096}}
    body = event_body("charge.succeeded", obj)
    assert_error(post_event(client, body), 413, "PAYLOAD_TOO_LARGE")
    assert _rows(StripeEvent) == 0


def test_the_webhook_has_its_own_rate_limit_not_the_api_one(app, app_ctx, client, owner, fake_stripe,
                                                             stripe_config, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_RATE_LIMIT", "3 per minute")
    body = event_body("charge.succeeded", {"id": "ch_1", "object": "charge", "customer": "cus_x"})
    answers = [post_event(client, body) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"  # not API_RATE_LIMIT's 10000
    assert_error(answers[3], 429, "RATE_LIMITED")


def test_payout_reconciliation_completed_queues_one_reconciliation_of_that_payout(
        app_ctx, client, owner, fake_stripe, stripe_config):
    acct = "acct_" + "1" * 16
    link_directly(owner.client.application, owner.tenant["id"], "account", acct)
    po = fake_stripe.put(sd.payout(sd.new_id("po"), 50_000, "eur", int(time.time()) - 3600), account=acct)
    for event_type in ("payout.paid", "payout.reconciliation_completed", "payout.paid"):
        post_event(client, event_body(event_type, po, account=acct))
    run_queued_jobs(job_type="payments.process_event")
    recs = owner.get("/api/v1/payments/reconciliations").get_json()["data"]
    assert [(r["trigger"], r["payout_id"]) for r in recs] == [("payout", po["id"])]
    jobs = db.session.scalars(select(Job).where(Job.type == "payments.reconcile")).all()
    assert len(jobs) == 1 and jobs[0].payload["payout"] == po["id"]


def test_a_platform_payout_reconciles_for_each_platform_tenant(app_ctx, client, register, fake_stripe,
                                                                stripe_config):
    alice, bob, connected = register(), register(), register()
    for account, kind, stripe_id in ((alice, "customer", "cus_alice"), (bob, "customer", "cus_bob"),
                                     (connected, "account", "acct_connected1")):
        link_directly(account.client.application, account.tenant["id"], kind, stripe_id)
    po = fake_stripe.put(sd.payout(sd.new_id("po"), 9_000, "eur", int(time.time()) - 3600))
    assert post_event(client, event_body("payout.reconciliation_completed", po)).status_code == 200
    run_queued_jobs(job_type="payments.process_event")
    tenants = {str(j.tenant_id) for j in db.session.scalars(
        select(Job).where(Job.type == "payments.reconcile"))}
    assert tenants == {alice.tenant["id"], bob.tenant["id"]}  # not the connected account's tenant
    run_queued_jobs(job_type="payments.reconcile")
    for account in (alice, bob):
        [rec] = account.get("/api/v1/payments/reconciliations").get_json()["data"]
        assert rec["status"] == "succeeded" and rec["payout_id"] == po["id"]
        assert rec["report"]["unpaid"]["count"] == 0


@pytest.mark.e2e
def test_a_real_worker_applies_a_webhook(app, client, owner, fake_stripe, stripe_config, payments_worker):
    payments_worker()
    paid = paid_invoice(owner, fake_stripe)
    assert post_event(client, event_body("invoice.paid", paid.stripe_invoice)).status_code == 200

    def paid_now():
        body = owner.get(f"/api/v1/invoices/{paid.invoice['id']}").get_json()["data"]
        return body["status"] == "paid" and body
    body = wait_until(paid_now, 60, "the worker to mark the invoice paid")
    assert body["amount_paid"] == 12_500
    assert body["stripe_payment_intent_id"] == paid.payment_intent["id"]
    # The worker read the invoice from the fake Stripe (not only the payload).
    assert any(path.startswith(f"/v1/invoices/{paid.stripe_invoice['id']}")
               for _m, path, _a in fake_stripe.requests)
