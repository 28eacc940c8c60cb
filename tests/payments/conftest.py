"""Payments fixtures: a fake Stripe on loopback, signed webhooks, jobs run in-process or by a worker."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from fake_stripe import FakeStripe, event_body  # noqa: F401  (tests import event_body from here)
from fake_stripe import sign as stripe_sign

from tests.support.processes import start_ready_worker

WEBHOOK_SECRET = "whsec_test_" + "s" * 24


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A fresh fake Stripe server (threaded, free port on 127.0.0.1) for one test."""
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def stripe_config(app, fake_stripe: FakeStripe, monkeypatch) -> dict[str, Any]:
    """Point the test app at the fake Stripe; returns the settings (for child processes too)."""
    settings = {"STRIPE_API_KEY": fake_stripe.api_key, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_API_BASE": fake_stripe.url, "STRIPE_MAX_NETWORK_RETRIES": 1}
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    return settings


@pytest.fixture
def payments_worker(app, base_config, stripe_config, process_logs):
    """Start a real worker whose environment points the stripe library at the fake server."""
    started = []

    def _start():
        worker = start_ready_worker(app.extensions["celery"], {**base_config, **stripe_config},
                                    process_logs, "payments")
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """`Stripe-Signature` for `payload` with the tests' webhook secret."""
    return stripe_sign(payload, secret, timestamp)


def post_event(client, body: bytes, signature: str | None = "sign"):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        signature = sign(body)
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/api/v1/webhooks/stripe", data=body, headers=headers)


def run_queued_jobs(job_type: str | None = None) -> list[str]:
    """Run every queued job (of a type) in this process, as a worker would; their ids."""
    from sqlalchemy import select

    from hub.extensions import db
    from hub.jobs import runs as job_runs
    from hub.models import Job
    from workers.base import HubTask

    ran = []
    while True:
        db.session.commit()
        query = select(Job.id).where(Job.status.in_(("queued", "retrying"))).order_by(Job.created_at)
        if job_type:
            query = query.where(Job.type == job_type)
        ids = [i for i in db.session.scalars(query) if i not in ran]
        if not ids:
            return [str(i) for i in ran]
        for job_id in ids:
            db.session.execute(Job.__table__.update().where(Job.id == job_id)
                               .values(next_attempt_at=None))
            db.session.commit()
            run = job_runs.claim(job_id, "test-inline")
            ran.append(job_id)
            if run is not None:
                HubTask._run_claimed(HubTask(), run)
