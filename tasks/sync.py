"""Scheduled syncs: beat queues a `sync.run` for every connection whose schedule is due."""
from __future__ import annotations

from celery import shared_task
from flask import current_app

from hub.services.sync import connections
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.enqueue_due_syncs", ignore_result=True)
def enqueue_due_syncs() -> int | None:
    """Queue the syncs that are due (nothing while SYNC_PAUSED is on)."""
    with run_once("enqueue-due-syncs", ttl=current_app.config["SYNC_SCHEDULER_INTERVAL"] * 5) as mine:
        return connections.enqueue_due() if mine else None


periodic(enqueue_due_syncs.name, interval_setting="SYNC_SCHEDULER_INTERVAL",
         enabled_setting="SYNC_SCHEDULER_ENABLED")
