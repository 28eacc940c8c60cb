"""Payments housekeeping run by beat: the nightly reconciliation, the webhook inbox's retention."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from hub.services.payments import reconciliation, stripe_events
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.payments_nightly_reconcile", ignore_result=True)
def nightly_reconcile() -> int | None:
    """Queue yesterday's reconciliation for each tenant linked to Stripe (once per tenant and day)."""
    with run_once("payments-nightly-reconcile", ttl=600) as mine:
        return reconciliation.queue_nightly() if mine else None


periodic(nightly_reconcile.name, interval_setting="STRIPE_NIGHTLY_CHECK_SECONDS",
         enabled_setting="STRIPE_NIGHTLY_RECONCILE_ENABLED")


@shared_task(name="hub.maintenance.purge_old_stripe_events", ignore_result=True)
def purge_old_stripe_events() -> int | None:
    """Delete settled Stripe events older than STRIPE_EVENT_RETENTION_DAYS from the inbox."""
    with run_once("purge-old-stripe-events", ttl=600) as mine:
        if not mine:
            return None
        return stripe_events.purge_settled(
            timedelta(days=current_app.config["STRIPE_EVENT_RETENTION_DAYS"]))


periodic(purge_old_stripe_events.name, every=3600)
