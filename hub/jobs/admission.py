"""Admission: what a tenant's slots and a job's flow-control keys allow, decided under locks.

The limits come from settings: a tier's `concurrency` (and `max_priority`) from
JOB_TIER_LIMITS, a key's `concurrency` and/or `rate` from FLOW_LIMITS. An
`Admission` locks the tenants, then the keys (advisory locks, each kind in one
order, so deciders never deadlock), reads what is in flight, and hands out
slots job by job. A rate key is a GCRA: `flow_rates.next_at` is when its next
attempt may start (a grant up to `horizon` seconds ahead is sent with that
countdown) and `started_next_at` paces the starts themselves. `flow_turns`
remembers when each tenant last had each key. `hub/jobs/scheduler.py` decides
whose jobs to offer; this module decides what fits.
"""
from __future__ import annotations

import functools
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Iterable

from flask import current_app
from limits import parse
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.types import DateTime, Interval, String, Uuid

from hub.extensions import db
from hub.models import PRIORITIES, FlowRate, FlowTurn, Tenant, utcnow
from hub.models.job import IN_FLIGHT_SQL

TENANT = "tenant"  # `waiting_for` of a job whose tenant has no free slot
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the last turn of a tenant that never had one
_KEY_LOCK_SPACE = zlib.crc32(b"hub-flow-keys") & 0x7FFFFFFF


@dataclass(frozen=True)
class FlowLimit:
    """A key's limit: jobs in flight at once, and/or seconds between attempt starts."""

    concurrency: int | None
    interval: float | None
    rate: str | None


@functools.lru_cache(maxsize=256)
def _limit(concurrency: int | None, rate: str | None) -> FlowLimit:
    interval = None
    if rate:
        item = parse(rate)
        interval = item.get_expiry() / item.amount
    return FlowLimit(int(concurrency) if concurrency is not None else None, interval, rate)


def flow_limit(key: str) -> FlowLimit | None:
    """The limit FLOW_LIMITS sets on a key: its exact entry, else its kind's `<kind>:*`."""
    flows = current_app.config["FLOW_LIMITS"]
    spec = flows.get(key)
    if spec is None and ":" in key:
        spec = flows.get(key.split(":", 1)[0] + ":*")
    if not spec:
        return None
    return _limit(spec.get("concurrency"), spec.get("rate"))


def tier_limits_of(tier: str | None) -> dict[str, Any]:
    tiers = current_app.config["JOB_TIER_LIMITS"]
    return tiers.get(tier or "standard") or tiers.get("standard") or next(iter(tiers.values()))


def priority_value(name: str) -> int:
    return PRIORITIES.index(name)


def max_priority(tier: str | None) -> str:
    """The highest priority the tier lets a tenant ask for (`high` unless limited)."""
    return tier_limits_of(tier).get("max_priority", "high")


def waiting_message(why: str, tenant_limit: int | None = None) -> str:
    """What a job held back by `why` says in its `message`."""
    if why == TENANT:
        return (f"waiting for a free slot: the tenant's plan runs {tenant_limit} jobs at a time"
                if tenant_limit else "waiting for a free slot of the tenant")
    limit = flow_limit(why)
    if limit is None:
        return f"waiting for {why}"
    parts = ([f"{limit.concurrency} at a time"] if limit.concurrency else []) + \
        ([f"{limit.rate}"] if limit.rate else [])
    return f"waiting for {why} ({', '.join(parts)})"[:500]


def horizon_seconds() -> float:
    """How far ahead a rate key's grants may reach: past the next relay run, so a
    rate-limited backlog keeps the key busy between runs."""
    return max(1.0, float(current_app.config["JOB_RELAY_INTERVAL"]) * 1.5)


# --- locks -----------------------------------------------------------------------------

def tenant_lock_id(tenant_id: uuid.UUID) -> int:
    return zlib.crc32(b"hub-dispatch:" + tenant_id.bytes)


def _key_lock_id(key: str) -> int:
    value = zlib.crc32(b"hub-flow:" + key.encode())
    return value - 2**32 if value >= 2**31 else value  # an int4


_LOCK_TENANTS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT k FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS u(k, n) ORDER BY n) AS s")
_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) FROM "
    "(SELECT k FROM unnest(CAST(:ids AS int[])) WITH ORDINALITY AS u(k, n) ORDER BY n) AS s")


def lock_tenants(tenant_ids: Iterable[uuid.UUID]) -> None:
    """Serialise slot accounting of these tenants for this transaction (one order for all)."""
    ids = sorted({tenant_lock_id(t) for t in tenant_ids})
    if ids:
        db.session.execute(_LOCK_TENANTS, {"ids": ids})


def lock_keys(keys: Iterable[str]) -> None:
    """Serialise the accounting of these flow keys; always after the tenants' locks."""
    ids = sorted({_key_lock_id(k) for k in keys})
    if ids:
        db.session.execute(_LOCK_KEYS, {"space": _KEY_LOCK_SPACE, "ids": ids})


# --- what is free ------------------------------------------------------------------------

_TENANT_BUSY = text(
    f"SELECT t.id, t.tier, (SELECT count(*) FROM jobs WHERE jobs.tenant_id = t.id AND {IN_FLIGHT_SQL} "
    "AND jobs.id <> ALL(:exclude)) AS busy FROM tenants AS t WHERE t.id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(Uuid())), bindparam("exclude", type_=ARRAY(Uuid())))

_KEYS_BUSY = text(
    f"SELECT k, count(*) FROM jobs, unnest(jobs.flow_keys) AS k WHERE {IN_FLIGHT_SQL} "
    "AND jobs.flow_keys && CAST(:keys AS varchar[]) AND k = ANY(:keys) AND jobs.id <> ALL(:exclude) "
    "GROUP BY k").bindparams(bindparam("keys", type_=ARRAY(String())),
                             bindparam("exclude", type_=ARRAY(Uuid())))

_WAITED_FOR = text(
    "SELECT k FROM unnest(CAST(:keys AS varchar[])) AS k WHERE EXISTS (SELECT 1 FROM jobs WHERE "
    "jobs.waiting_for = k AND jobs.dispatched_at IS NULL AND jobs.status IN ('queued', 'retrying'))")

_ALL_KEYS_BUSY = text(
    f"SELECT k, count(*) FROM jobs, unnest(jobs.flow_keys) AS k WHERE {IN_FLIGHT_SQL} "
    "AND jobs.flow_keys <> '{}' GROUP BY k")


@dataclass
class Admission:
    """The free capacity of some tenants and keys, read under their locks, handed out job by job."""

    now: datetime
    horizon: float
    tenant_free: dict[uuid.UUID, int] = field(default_factory=dict)
    tenant_limit: dict[uuid.UUID, int] = field(default_factory=dict)
    key_free: dict[str, int] = field(default_factory=dict)
    rate_next: dict[str, datetime] = field(default_factory=dict)
    limits: dict[str, FlowLimit | None] = field(default_factory=dict)
    rates_changed: set[str] = field(default_factory=set)
    # (key, tenant) -> when the tenant last had a job admitted on the key.
    served: dict[tuple[str, uuid.UUID], datetime] = field(default_factory=dict)
    served_changed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    contended: set[str] = field(default_factory=set)  # keys other jobs already wait for

    @classmethod
    def start(cls, now: datetime) -> Admission:
        return cls(now=now, horizon=horizon_seconds())

    def load_tenants(self, tenant_ids: Iterable[uuid.UUID], exclude: Iterable[uuid.UUID] = ()) -> None:
        """Lock the tenants and read their free slots (`exclude`: this transaction's own
        reservations, which count as not yet taken)."""
        ids = sorted(set(tenant_ids) - set(self.tenant_free))
        if not ids:
            return
        lock_tenants(ids)
        for tenant_id, tier, busy in db.session.execute(_TENANT_BUSY, {"ids": ids,
                                                                        "exclude": list(exclude)}):
            limit = int(tier_limits_of(tier)["concurrency"])
            self.tenant_limit[tenant_id] = limit
            self.tenant_free[tenant_id] = limit - int(busy)
        for tenant_id in ids:  # a tenant deleted meanwhile: nothing of it runs
            self.tenant_free.setdefault(tenant_id, 0)

    def load_keys(self, keys: Iterable[str], exclude: Iterable[uuid.UUID] = (), *,
                  queue_behind: bool = False) -> None:
        """Lock the keys (after every tenant lock) and read what each allows now.

        `queue_behind`: a job that did not wait (a new one) takes nothing of a key
        other jobs already wait for; it joins them, and their turns decide."""
        new = sorted(set(keys) - set(self.limits))
        for key in new:
            self.limits[key] = flow_limit(key)
        limited = [k for k in new if self.limits[k] is not None]
        if not limited:
            return
        lock_keys(limited)
        counted = [k for k in limited if self.limits[k].concurrency]
        if counted:
            busy = dict(db.session.execute(_KEYS_BUSY, {"keys": counted, "exclude": list(exclude)}).all())
            for key in counted:
                self.key_free[key] = self.limits[key].concurrency - int(busy.get(key, 0))
        turns = db.session.execute(db.select(FlowTurn.key, FlowTurn.tenant_id, FlowTurn.served_at).where(
            FlowTurn.key.in_(limited), FlowTurn.tenant_id.in_(list(self.tenant_free)))).all()
        self.served.update({(key, tenant_id): at for key, tenant_id, at in turns})
        paced = [k for k in limited if self.limits[k].interval]
        if paced:
            rows = db.session.execute(db.select(FlowRate.key, FlowRate.next_at)
                                      .where(FlowRate.key.in_(paced))).all()
            self.rate_next.update({key: at for key, at in rows})
        if queue_behind:
            self.contended.update(db.session.scalars(_WAITED_FOR, {"keys": limited}))

    def admit(self, tenant_id: uuid.UUID, keys: Iterable[str]) -> tuple[bool, float, str | None]:
        """Take a slot of the tenant and of each key for one job: (admitted, seconds until
        it may start, the limit that holds it back)."""
        if self.tenant_free.get(tenant_id, 0) <= 0:
            return False, 0.0, TENANT
        keys = [k for k in keys if self.limits.get(k) is not None]
        start = self.now
        for key in keys:
            limit = self.limits[key]
            if key in self.contended or (limit.concurrency and self.key_free.get(key, 0) <= 0):
                return False, 0.0, key
            if limit.interval:
                at = max(self.now, self.rate_next.get(key, self.now))
                if (at - self.now).total_seconds() > self.horizon:
                    return False, 0.0, key
                start = max(start, at)
        self.tenant_free[tenant_id] -= 1
        for key in keys:
            # Microseconds apart, so turns handed out in one decision keep their order.
            self.served[(key, tenant_id)] = self.now + timedelta(microseconds=len(self.served_changed) + 1)
            self.served_changed.add((key, tenant_id))
            limit = self.limits[key]
            if limit.concurrency:
                self.key_free[key] -= 1
            if limit.interval:
                self.rate_next[key] = start + timedelta(seconds=limit.interval)
                self.rates_changed.add(key)
        return True, (start - self.now).total_seconds(), None

    def last_turn(self, tenant_id: uuid.UUID, keys: Iterable[str]) -> datetime:
        """When the tenant last had one of these keys (long ago if never)."""
        times = [self.served.get((k, tenant_id), NEVER) for k in keys if self.limits.get(k)]
        return min(times) if times else NEVER

    def save(self) -> None:
        """Write the rate keys' next starts and the keys' turns (in the deciding transaction)."""
        if self.rates_changed:
            rows = [{"key": k, "next_at": self.rate_next[k]} for k in sorted(self.rates_changed)]
            stmt = insert(FlowRate).values(rows)
            db.session.execute(stmt.on_conflict_do_update(index_elements=[FlowRate.key],
                                                          set_={"next_at": stmt.excluded.next_at}))
            self.rates_changed.clear()
        if self.served_changed:
            rows = [{"key": k, "tenant_id": t, "served_at": self.served[(k, t)]}
                    for k, t in sorted(self.served_changed, key=lambda kt: (kt[0], str(kt[1])))]
            stmt = insert(FlowTurn).values(rows)
            db.session.execute(stmt.on_conflict_do_update(
                index_elements=[FlowTurn.key, FlowTurn.tenant_id],
                set_={"served_at": stmt.excluded.served_at}))
            self.served_changed.clear()


def saturated_keys(now: datetime) -> list[str]:
    """Keys that admit nothing now (read without their locks: a first filter only)."""
    full = [key for key, busy in db.session.execute(_ALL_KEYS_BUSY)
            if (limit := flow_limit(key)) is not None and limit.concurrency
            and int(busy) >= limit.concurrency]
    late = now + timedelta(seconds=horizon_seconds())
    full += db.session.scalars(db.select(FlowRate.key).where(FlowRate.next_at > late)).all()
    return full



_TAKE_START = text(
    "INSERT INTO flow_rates (key, next_at, started_next_at) VALUES (:key, :now, :now + :gap) "
    "ON CONFLICT (key) DO UPDATE SET started_next_at = "
    "greatest(coalesce(flow_rates.started_next_at, :now), :now) + :gap "
    "RETURNING flow_rates.started_next_at - :gap").bindparams(
        bindparam("gap", type_=Interval()), bindparam("now", type_=DateTime(timezone=True)))


def start_delay(keys: Iterable[str]) -> float:
    """Seconds an attempt about to start waits so that its rate keys' real starts stay
    `1/rate` apart: the scheduler paces grants, this paces starts (each key's slot
    taken atomically, in autocommit)."""
    paced = [(k, limit) for k in keys if (limit := flow_limit(k)) is not None and limit.interval]
    if not paced:
        return 0.0
    now = utcnow()
    wait = 0.0
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for key, limit in sorted(paced):
            start = conn.scalar(_TAKE_START, {"key": key, "now": now,
                                              "gap": timedelta(seconds=limit.interval)})
            wait = max(wait, (start - now).total_seconds())
    return wait


def concurrency_keys(keys: Iterable[str]) -> list[str]:
    """Of a job's keys, those whose slot a finished attempt gives back."""
    return [k for k in keys if (limit := flow_limit(k)) is not None and limit.concurrency]


def tenant_tier(tenant_id: uuid.UUID) -> str | None:
    tenant = db.session.get(Tenant, tenant_id)  # usually in the identity map already
    return tenant.tier if tenant is not None else None
