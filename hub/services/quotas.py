"""Per-tenant quotas by tier: how fast a tenant may create jobs, and how many bytes it
may store."""
from __future__ import annotations

import logging
import time
import uuid

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select

from hub.extensions import db, limiter
from hub.jobs.ledger import tier_limits
from hub.models import File, Tenant
from hub.web.errors import QuotaExceeded, RateLimited

log = logging.getLogger(__name__)
# Used while Redis is unreachable: limits keep holding per process.
_fallback = FixedWindowRateLimiter(MemoryStorage())


def check_job_creation_rate(tenant_id: uuid.UUID, cost: int = 1) -> None:
    """Count `cost` job creations against the tenant's tier, all or none; 429 with
    Retry-After when they do not fit (and then none is counted)."""
    item = parse(tier_limits(tenant_id)["rate"])
    key = ("job-create", str(tenant_id))
    strategy = limiter.limiter
    try:
        allowed = strategy.hit(item, *key, cost=cost)
    except Exception as exc:  # noqa: BLE001 - storage down: fall back, never fail open
        log.warning("job rate limit storage unavailable (%s); limiting in memory", exc)
        strategy = _fallback
        allowed = strategy.hit(item, *key, cost=cost)
    if allowed:
        return
    try:
        # A refused request creates nothing, so it takes nothing from the window.
        strategy.storage.incr(item.key_for(*key), item.get_expiry(), amount=-cost)
    except Exception as exc:  # noqa: BLE001 - the window still ends; only this refund is lost
        log.warning("could not give back a refused job creation's count (%s)", exc)
    reset_at = strategy.get_window_stats(item, *key).reset_time
    retry_after = max(1, int(reset_at - time.time()) + 1)
    if cost > item.amount:
        raise RateLimited(f"Your plan allows {item}; a batch of {cost} jobs never fits: "
                          f"send at most {item.amount} at once.",
                          details={"limit": str(item), "jobs": cost},
                          headers={"Retry-After": str(retry_after)})
    raise RateLimited(f"Your plan allows {item}; try again in {retry_after} s.",
                      details={"limit": str(item)}, headers={"Retry-After": str(retry_after)})


# --- storage -------------------------------------------------------------------

def storage_quota(tenant: Tenant) -> int | None:
    """The tenant's storage quota in bytes (TENANT_STORAGE_QUOTA_BYTES by tier); None: none."""
    quotas = current_app.config["TENANT_STORAGE_QUOTA_BYTES"]
    return quotas.get(tenant.tier, quotas.get("standard"))


def storage_used(tenant_id: uuid.UUID) -> int:
    """Bytes the tenant stores: finished uploads, and pending direct uploads at their
    announced size (so a burst of presigned uploads cannot overshoot). Deleted files are gone."""
    return int(db.session.scalar(select(func.coalesce(func.sum(
        func.coalesce(File.size, File.expected_size, 0)), 0)).where(File.tenant_id == tenant_id)))


def storage_room(tenant_id: uuid.UUID) -> int | None:
    """Bytes the tenant may still store (may be <= 0), or None without a quota. No lock:
    for bounding a stream; `reserve_storage` decides."""
    quota = storage_quota(db.session.get(Tenant, tenant_id))
    return None if quota is None else quota - storage_used(tenant_id)


def quota_exceeded(quota: int, used: int, requested: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"This would exceed your plan's storage quota of {quota} bytes ({used} in use); "
        "delete files or upgrade the plan.",
        details={"quota_bytes": quota, "used_bytes": used, "requested_bytes": requested})


def over_quota(tenant_id: uuid.UUID, requested: int) -> QuotaExceeded:
    """The 413 for a request of `requested` more bytes, with the tenant's current figures."""
    return quota_exceeded(storage_quota(db.session.get(Tenant, tenant_id)) or 0,
                          storage_used(tenant_id), requested)


def reserve_storage(tenant_id: uuid.UUID, nbytes: int) -> None:
    """QuotaExceeded unless `nbytes` more fit the quota. Locks the tenant's row until the
    caller's transaction ends, so two uploads at once cannot both take the last bytes."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    quota = storage_quota(tenant)
    if quota is None:
        return
    used = storage_used(tenant_id)
    if used + nbytes > quota:
        raise quota_exceeded(quota, used, nbytes)
