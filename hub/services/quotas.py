"""Per-tenant job quotas by tier: how fast a tenant may create jobs."""
from __future__ import annotations

import logging
import time
import uuid

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from hub.errors import RateLimited
from hub.extensions import limiter
from hub.jobs import tier_limits

log = logging.getLogger(__name__)
# Used while Redis is unreachable: limits keep holding per process.
_fallback = FixedWindowRateLimiter(MemoryStorage())


def check_job_creation_rate(tenant_id: uuid.UUID, cost: int = 1) -> None:
    """Count one job creation against the tenant's tier; 429 with Retry-After when over."""
    item = parse(tier_limits(tenant_id)["rate"])
    key = ("job-create", str(tenant_id))
    strategy = limiter.limiter
    try:
        allowed = strategy.hit(item, *key, cost=cost)
    except Exception as exc:  # noqa: BLE001 - storage down: fall back, never fail open
        log.warning("job rate limit storage unavailable (%s); limiting in memory", exc)
        strategy = _fallback
        allowed = strategy.hit(item, *key, cost=cost)
    if not allowed:
        reset_at = strategy.get_window_stats(item, *key).reset_time
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(f"Your plan allows {item}; try again in {retry_after} s.",
                          details={"limit": str(item)}, headers={"Retry-After": str(retry_after)})
