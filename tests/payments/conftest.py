"""Payments fixtures: a fake Stripe on loopback, signed webhooks, jobs run in-process or by a worker."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from fake_stripe import FakeStripe, event_body  # noqa: F401  (tests import event_body from here)
from fake_stripe import sign as stripe_sign

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
def payments_worker(workers, stripe_config):
    """Start a real worker whose environment points the stripe library at the fake server."""
    return lambda: workers.worker("payments", stripe_config)


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
