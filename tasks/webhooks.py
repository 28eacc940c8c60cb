"""Webhook housekeeping run by beat (sending is the `webhook.deliver` job type)."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from hub.services import webhooks
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.purge_old_webhook_deliveries", ignore_result=True)
def purge_old_webhook_deliveries() -> int | None:
    """Delete finished deliveries (and their attempts) older than WEBHOOK_RETENTION_DAYS."""
    with run_once("purge-old-webhook-deliveries", ttl=600) as mine:
        if not mine:
            return None
        return webhooks.purge_deliveries(timedelta(days=current_app.config["WEBHOOK_RETENTION_DAYS"]))


periodic(purge_old_webhook_deliveries.name, every=3600)
