"""Housekeeping of file storage, run by beat."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from hub.services import files
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.purge_abandoned_uploads", ignore_result=True)
def purge_abandoned_uploads() -> dict | None:
    """Direct uploads never completed, and partial objects, past FILE_PENDING_TTL_HOURS."""
    with run_once("purge-abandoned-uploads", ttl=600) as mine:
        if not mine:
            return None
        return files.purge_abandoned(timedelta(hours=current_app.config["FILE_PENDING_TTL_HOURS"]))


periodic(purge_abandoned_uploads.name, every=3600)
