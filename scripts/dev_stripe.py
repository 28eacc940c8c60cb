"""A local Stripe for `make run` (the Procfile's `stripe`): payments you can try without keys.

It serves Stripe's wire format (scripts/fake_stripe.py, the server the payments
tests use) on 127.0.0.1:STRIPE_DEV_PORT with last month of payments for the
demo tenant: customers linked to it, paid and refunded charges, fees, weekly
payouts, and a few planted mismatches (an unpaid invoice, a partly paid one, a
payment nobody invoiced, a wrong amount, a wrong currency, a duplicate). The
matching invoices are written to the hub's database for the demo tenant.

Once the hub answers, it
1. sends a signed `payout.paid` webhook (STRIPE_WEBHOOK_SECRET) to
   POST /api/v1/webhooks/stripe, as Stripe would, and
2. asks for last month's reconciliation as the demo user (DEMO_EMAIL /
   DEMO_PASSWORD), so the console's Reconciliations screen has a report.

Its state lives in memory: every start seeds afresh (and replaces the demo
invoices it wrote before). When STRIPE_API_BASE points elsewhere (real Stripe
keys in the environment), it stays idle so the other processes keep running.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import stripe_data as sd  # noqa: E402  (scripts/ is on sys.path: this file's folder)
from fake_stripe import FakeStripe, event_body, sign  # noqa: E402

log = logging.getLogger("dev_stripe")
DEMO_PREFIX = "INV-"  # the generator's invoice numbers; only the demo tenant's are replaced
CUSTOMERS = 6


def previous_month(today: date) -> tuple[int, int]:
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def seed(fake: FakeStripe) -> tuple[sd.Month, str] | None:
    """Last month's payments in `fake`, and the demo tenant's invoices and links in the hub."""
    from sqlalchemy import delete, select

    from hub import create_app
    from hub.extensions import db
    from hub.models import User
    from hub.models.payment import Invoice, StripeLink
    from hub.services.payments.invoices import ensure_link

    app = create_app()
    email = os.environ.get("DEMO_EMAIL", "demo@example.com").strip().lower()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            log.warning("no demo user %s: nothing seeded (run `flask --app wsgi hub seed-demo`)", email)
            return None
        tenant_id = user.tenant_id
        customers = [f"cus_demo{str(tenant_id)[:8]}{i}" for i in range(CUSTOMERS)]
        for cid in customers:
            fake.put(sd.customer(cid, email=f"customer{cid[-1]}@example.com",
                                 tenant_id=str(tenant_id)))
        year, month = previous_month(datetime.now(UTC).date())
        planned = sd.generate_month(fake, customers, year=year, month=month, paid=40, planted=1,
                                    seed=year * 100 + month)
        db.session.execute(delete(Invoice).where(Invoice.tenant_id == tenant_id,
                                                 Invoice.number.startswith(DEMO_PREFIX),
                                                 Invoice.stripe_customer_id.in_(customers)))
        db.session.add_all(Invoice(
            id=uuid.uuid4(), tenant_id=tenant_id, number=p.number, customer_ref=p.customer_ref,
            amount=p.amount, currency=p.currency, due_date=p.due_date, status="open",
            stripe_customer_id=p.stripe_customer_id,
            stripe_payment_intent_id=p.stripe_payment_intent_id) for p in planned.invoices)
        linked = set(db.session.scalars(select(StripeLink.stripe_id).where(
            StripeLink.tenant_id == tenant_id, StripeLink.kind == "customer")))
        for cid in customers:
            if cid not in linked:
                ensure_link(tenant_id, "customer", cid)
        db.session.commit()
        log.info("seeded %d-%02d: %d invoices for %d customers of the demo tenant (%s)",
                 year, month, len(planned.invoices), len(customers), tenant_id)
        return planned, email


def wait_for_hub(base: str, stop: threading.Event, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            if requests.get(base + "/health/live", timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        stop.wait(1)
    return False


def show_the_hub(fake: FakeStripe, planned: sd.Month, email: str, base: str) -> None:
    """A signed payout.paid webhook, then last month's reconciliation as the demo user."""
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET")
    payouts = fake.of_kind("payout")
    if secret and payouts:
        payout = max(payouts, key=lambda o: o["created"])
        body = event_body("payout.paid", payout)
        resp = requests.post(base + "/api/v1/webhooks/stripe", data=body, timeout=10, headers={
            "Content-Type": "application/json", "Stripe-Signature": sign(body, secret)})
        log.info("sent payout.paid for %s: the hub answered %s", payout["id"], resp.status_code)
    password = os.environ.get("DEMO_PASSWORD")
    if not password:
        return
    login = requests.post(base + "/api/v1/auth/login", timeout=10,
                          json={"email": email, "password": password})
    if login.status_code != 200:
        log.warning("could not log in as %s to request the demo reconciliation: %s",
                    email, login.status_code)
        return
    token = login.json()["data"]["access_token"]
    iso = "%Y-%m-%dT%H:%M:%SZ"
    resp = requests.post(base + "/api/v1/payments/reconciliations", timeout=10,
                         headers={"Authorization": f"Bearer {token}",
                                  "Idempotency-Key": f"demo-{planned.start:%Y-%m}"},
                         json={"from": planned.start.strftime(iso), "to": planned.end.strftime(iso)})
    log.info("requested the %s reconciliation: %s", f"{planned.start:%Y-%m}", resp.status_code)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    port = int(os.environ.get("STRIPE_DEV_PORT") or 12111)
    mine = f"http://127.0.0.1:{port}"
    if os.environ.get("STRIPE_API_BASE", "").rstrip("/") != mine:
        log.info("STRIPE_API_BASE is not %s: the hub uses another Stripe; this one stays idle", mine)
        stop.wait()
        return 0
    fake = FakeStripe(api_key=os.environ.get("STRIPE_API_KEY") or "sk_test_hub_dev").start(port)
    fake.keep_request_log = False
    log.info("a local Stripe (wire-format fake) is serving %s", mine)
    seeded = seed(fake)
    base = f"http://127.0.0.1:{os.environ.get('HUB_PORT') or '5000'}"
    if seeded and wait_for_hub(base, stop):
        try:
            show_the_hub(fake, *seeded, base)
        except requests.RequestException as exc:
            log.warning("could not reach the hub: %s", exc)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
