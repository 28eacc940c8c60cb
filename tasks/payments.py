"""Payments housekeeping run by beat: the nightly reconciliation."""
from __future__ import annotations

from celery import shared_task

from hub.services import reconciliation
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.payments_nightly_reconcile", ignore_result=True)
def nightly_reconcile() -> int | None:
    """Queue yesterday's reconciliation for each tenant linked to Stripe (once per tenant and day)."""
    with run_once("payments-nightly-reconcile", ttl=600) as mine:
        return reconciliation.queue_nightly() if mine else None


periodic(nightly_reconcile.name, interval_setting="STRIPE_NIGHTLY_CHECK_SECONDS",
         enabled_setting="STRIPE_NIGHTLY_RECONCILE_ENABLED")
