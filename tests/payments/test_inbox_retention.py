"""The webhook inbox's retention: settled events go after STRIPE_EVENT_RETENTION_DAYS, nothing else does."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import stripe_data as sd
from sqlalchemy import select

from hub.config import ConfigError, check_config, load_config
from hub.extensions import db
from hub.jobs import events
from hub.jobs import runs as job_runs
from hub.models import Job, utcnow
from hub.models.payment import StripeEvent
from hub.services.payments.stripe_events import PROCESS_EVENT, purge_settled
from tests.payments.conftest import event_body, post_event
from tests.payments.helpers import link_directly, paid_invoice
from tests.support.jobs import run_queued_jobs
from workers.base import HubTask

WINDOW = timedelta(days=30)


@pytest.fixture
def owner(register):
    return register()


def _receive(client, event_type: str, obj: dict) -> str:
    resp = post_event(client, event_body(event_type, obj))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["event_id"]


def _age(event_id: str, days: float, processed_days: float | None = None) -> None:
    """Move an event's receipt (and processing, if any) back in time."""
    db.session.commit()
    event = db.session.get(StripeEvent, event_id)
    event.received_at = utcnow() - timedelta(days=days)
    if event.processed_at is not None:
        event.processed_at = utcnow() - timedelta(days=days if processed_days is None else processed_days)
    db.session.commit()


def _inbox() -> dict[str, str]:
    db.session.commit()
    return {e.id: e.status for e in db.session.scalars(select(StripeEvent))}


def _run(job: Job) -> None:
    """Run this one job in-process, as a worker would."""
    run = job_runs.claim(job.id, "test-inline")
    assert run is not None
    HubTask._run_claimed(HubTask(), run)


def test_only_settled_events_past_the_window_are_purged(app_ctx, client, owner, fake_stripe,
                                                        stripe_config):
    paid, other = paid_invoice(owner, fake_stripe), paid_invoice(owner, fake_stripe)
    processed = _receive(client, "invoice.paid", paid.stripe_invoice)
    run_queued_jobs()
    ignored = _receive(client, "customer.created", sd.customer(sd.new_id("cus")))
    unrouted = _receive(client, "charge.succeeded",
                        sd.charge(sd.new_id("ch"), 500, "eur", "cus_nobodyknows", int(time.time())))
    recent = _receive(client, "payment_intent.succeeded", paid.payment_intent)
    processed_late = _receive(client, "charge.succeeded", paid.charge)
    run_queued_jobs()
    waiting = _receive(client, "invoice.paid", other.stripe_invoice)  # its job has not run
    assert _inbox() == {processed: "processed", ignored: "ignored", unrouted: "unrouted",
                        recent: "processed", processed_late: "processed", waiting: "queued"}
    for event_id in (processed, ignored, unrouted, waiting):
        _age(event_id, days=31)
    _age(recent, days=29)
    _age(processed_late, days=40, processed_days=10)  # applied (a job retry) long after receipt

    assert purge_settled(WINDOW, batch=2) == 3  # two batches: 2, then 1
    assert _inbox() == {recent: "processed", processed_late: "processed", waiting: "queued"}
    assert purge_settled(WINDOW) == 0
    # The queued one is applied when its job runs, whatever its age, then goes in a later round.
    run_queued_jobs()
    assert _inbox()[waiting] == "processed" and db.session.get(StripeEvent, waiting).payload["id"] == waiting
    _age(waiting, days=31)
    assert purge_settled(WINDOW) == 1 and waiting not in _inbox()


def test_an_event_stays_while_any_of_its_jobs_has_not_succeeded(app_ctx, client, register, fake_stripe,
                                                                stripe_config):
    # A platform payout is applied by one job per platform tenant; the first marks it processed.
    alice, bob = register(), register()
    for account, customer in ((alice, "cus_alice"), (bob, "cus_bob")):
        link_directly(account.client.application, account.tenant["id"], "customer", customer)
    po = fake_stripe.put(sd.payout(sd.new_id("po"), 9_000, "eur", int(time.time()) - 3600))
    event_id = _receive(client, "payout.reconciliation_completed", po)
    first, second = db.session.scalars(select(Job).where(Job.type == PROCESS_EVENT)
                                       .order_by(Job.created_at)).all()
    _run(first)
    assert _inbox() == {event_id: "processed"}
    _age(event_id, days=31)
    assert purge_settled(WINDOW) == 0  # the second tenant's job still needs it
    _run(second)
    db.session.commit()
    assert db.session.get(Job, second.id).status == "succeeded"
    assert purge_settled(WINDOW) == 0  # applied again just now: the window starts over
    _age(event_id, days=31)
    assert purge_settled(WINDOW) == 1 and _inbox() == {}


def test_a_failed_job_keeps_its_event_for_a_retry(app_ctx, client, owner, fake_stripe, stripe_config):
    paid = paid_invoice(owner, fake_stripe)
    event_id = _receive(client, "invoice.paid", paid.stripe_invoice)
    run_queued_jobs()
    job = db.session.scalars(select(Job).where(Job.type == PROCESS_EVENT)).one()
    job.status = "failed"  # as a tenant whose job gave up would see it (a retry reads the event)
    db.session.commit()
    _age(event_id, days=31)
    assert purge_settled(WINDOW) == 0 and event_id in _inbox()


def test_a_purged_event_sent_again_is_applied_again_and_changes_nothing(
        app_ctx, client, owner, fake_stripe, stripe_config, monkeypatch):
    published: list[str] = []
    monkeypatch.setitem(events._listeners, "invoice.paid",
                        [*events._listeners.get("invoice.paid", []),
                         lambda _t, _n, d: published.append(d["id"])])
    paid = paid_invoice(owner, fake_stripe)
    body = event_body("invoice.paid", paid.stripe_invoice)
    assert post_event(client, body).status_code == 200
    run_queued_jobs()
    before = owner.get(f"/api/v1/invoices/{paid.invoice['id']}").get_json()["data"]
    assert before["status"] == "paid" and published == [paid.invoice["id"]]
    (event_id,) = _inbox()
    _age(event_id, days=31)
    assert purge_settled(WINDOW) == 1

    # Stripe does not redeliver after 3 days; a manual resend of the same id is new to the inbox.
    again = post_event(client, body).get_json()["data"]
    assert (again["event_id"], again["duplicate"], again["status"]) == (event_id, False, "queued")
    assert len(run_queued_jobs()) == 1
    after = owner.get(f"/api/v1/invoices/{paid.invoice['id']}").get_json()["data"]
    assert after == before and published == [paid.invoice["id"]]  # no second invoice.paid


def test_beat_runs_the_purge_hourly(app, app_ctx):
    from tasks.payments import purge_old_stripe_events
    from workers.periodic import beat_schedule

    entry = beat_schedule(app)["hub.maintenance.purge_old_stripe_events"]
    assert entry["schedule"] == 3600
    assert purge_old_stripe_events() == 0


def test_a_window_shorter_than_stripes_redeliveries_is_refused():
    check_config(load_config({"HUB_ENV": "testing", "STRIPE_EVENT_RETENTION_DAYS": 3}))
    with pytest.raises(ConfigError, match="STRIPE_EVENT_RETENTION_DAYS"):
        check_config(load_config({"HUB_ENV": "testing", "STRIPE_EVENT_RETENTION_DAYS": 2}))
