"""The job pipeline: one ledger in PostgreSQL, dispatched to Celery.

`from hub import jobs` gives what the rest of the hub calls: create a job in
the caller's transaction, `commit_and_dispatch()` it, read, cancel or retry it.
The modules beside this one:

- `types`: declaring a job type (`@job_type`), its payload schema and retry policy;
- `ledger`: creating and dispatching (the outbox);
- `intake`: the API's fast path for new jobs, one or a batch: one statement writes them;
- `outbox`: the relay, sending later what could not be sent at commit, recovering leases;
- `scheduler`: which waiting job goes next: tenants in turns, priorities inside a turn;
- `admission`: what fits: tenant slots and flow-control keys (FLOW_LIMITS), under locks;
- `runs`: the worker side: claim, lease, finish;
- `steps`: the single-statement SQL the worker side runs on PostgreSQL;
- `events`: in-process domain events that listeners turn into more jobs;
- `actions`: cancel and retry as the API offers them (audited);
- `schema`: the one serialisation of a job, for the API and the sockets;
- `demo`: `demo.sleep`, a job type to try the pipeline with.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_RUN_AT", "RUN_TASK", "add_event", "cancel", "commit_and_dispatch", "create_job", "dispatch",
    "get_job", "hand_on", "job_event_data", "list_events", "purge_finished", "relay", "retry",
    "send_to_broker", "tier_limits",
]


def __getattr__(name: str) -> Any:
    """The ledger's public names, loaded on first use.

    Lazily, because modules the ledger itself imports (`hub.realtime` needs
    `schema`) import siblings of this package; an eager import here would be a
    cycle.
    """
    if name == "relay":
        from hub.jobs import outbox
        return outbox.relay
    if name in __all__:
        from hub.jobs import ledger
        return getattr(ledger, name)
    raise AttributeError(f"module 'hub.jobs' has no attribute {name!r}")
