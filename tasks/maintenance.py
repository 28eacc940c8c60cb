"""Housekeeping run by beat."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from hub.services import tokens


@shared_task(name="hub.maintenance.purge_expired_revocations")
def purge_expired_revocations() -> int:
    """Drop revocation and refresh rows of tokens that have expired anyway."""
    return tokens.purge_expired_revocations(older_than=timedelta(hours=1))
