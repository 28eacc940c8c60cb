"""`make run`'s local Stripe (scripts/dev_stripe.py) as the Procfile runs it, against the
real API, realtime process and worker: the demo tenant gets last month's payments, a
signed webhook reaches the hub, and a reconciliation report finds the planted mismatches."""
from __future__ import annotations

import sys
import uuid

import pytest
import requests
from localservices import free_port

from tests.payments.conftest import WEBHOOK_SECRET
from tests.support.helpers import PASSWORD
from tests.support.processes import ROOT, HubProcess, WebHub, child_env, wait_until

pytestmark = pytest.mark.e2e


def test_the_local_stripe_seeds_the_demo_tenant_and_its_report_finds_the_planted_mismatches(
        app, base_config, process_logs, start_beat, start_worker):
    port = free_port()
    stripe = {"STRIPE_API_KEY": "sk_test_hub_dev", "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
              "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_MAX_NETWORK_RETRIES": 0}
    config = {**base_config, **stripe}
    web = WebHub(config, process_logs)
    demo = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    resp = requests.post(web.url + "/api/v1/auth/register", timeout=10, json={
        "tenant_name": "Demo", "name": "Demo Owner", "email": demo, "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    headers = {"Authorization": f"Bearer {resp.json()['data']['access_token']}"}
    # As under `make run`: a worker, and beat (its relay sends the jobs a worker's job queued).
    beat = start_beat()
    worker = start_worker("devstripe", stripe)
    env = child_env(config, STRIPE_DEV_PORT=str(port), HUB_PORT=web.url.rsplit(":", 1)[1],
                    DEMO_EMAIL=demo, DEMO_PASSWORD=PASSWORD)
    dev = HubProcess("dev-stripe", [sys.executable, str(ROOT / "scripts" / "dev_stripe.py")], env,
                     process_logs)
    try:
        def reports():
            got = requests.get(web.url + "/api/v1/payments/reconciliations", headers=headers,
                               timeout=10).json()["data"]
            done = {r["trigger"]: r for r in got if r["status"] == "succeeded"}
            return done if {"api", "payout"} <= set(done) else None

        done = wait_until(reports, 90, "the demo reconciliation and the webhook's", proc=dev.proc)
        report = done["api"]["report"]
        for kind in ("unpaid", "unmatched", "amount_mismatches", "currency_mismatches", "duplicates"):
            assert report[kind]["count"] == 1, (kind, report[kind])
        assert report["matched"]["count"] == 40 and report["payouts"]["count"] == 4
        invoices = requests.get(web.url + "/api/v1/invoices?per_page=100", headers=headers,
                                timeout=10).json()["meta"]["pagination"]["total"]
        assert invoices == 46
        assert "sent payout.paid" in dev.log_tail() and "answered 200" in dev.log_tail()
    finally:
        dev.stop()
        worker.stop()
        beat.stop()
        web.stop()


def test_with_real_stripe_configured_the_local_one_stays_idle(base_config, process_logs):
    port = free_port()
    env = child_env(base_config, STRIPE_DEV_PORT=str(port), STRIPE_API_BASE="https://api.stripe.com")
    dev = HubProcess("dev-stripe", [sys.executable, str(ROOT / "scripts" / "dev_stripe.py")], env,
                     process_logs)
    try:
        wait_until(lambda: "stays idle" in dev.log_tail(), 20, "the idle message", proc=dev.proc)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/v1/payouts", timeout=2)
        assert dev.proc.poll() is None  # still running: honcho would stop everything otherwise
    finally:
        dev.stop()
        assert dev.proc.returncode is not None
