"""Housekeeping run by beat."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from hub.services import idempotency
from hub.services.accounts import tokens
from workers.periodic import periodic, run_once


@shared_task(name="hub.maintenance.purge_expired_records", ignore_result=True)
def purge_expired_records() -> int | None:
    """Drop revocations of tokens that expired anyway, and expired idempotency keys."""
    with run_once("purge-expired-records", ttl=600) as mine:
        if not mine:
            return None
        return (tokens.purge_expired_revocations(older_than=timedelta(hours=1))
                + idempotency.purge_expired())


periodic(purge_expired_records.name, every=3600)
