"""Domain events: the one place that announces what happened.

`publish(tenant_id, "job.succeeded", data)` is called where the thing happens,
inside the transaction that records it. Listeners (outbound webhooks, email
notifications, ...) subscribe by event type and usually add jobs to the same
transaction, so an event and the work it triggers commit together or not at
all. Event types are the names docs/API.md lists for outbound webhooks.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

EVENT_TYPES = ("job.succeeded", "job.failed", "file.processed", "payment.reconciled",
               "invoice.paid", "sync.completed")
ANY = "*"

Listener = Callable[[uuid.UUID, str, dict[str, Any]], None]
_listeners: dict[str, list[Listener]] = {}


def subscribe(event_type: str, listener: Listener) -> Listener:
    """Call `listener(tenant_id, event_type, data)` for each event of this type (or ANY)."""
    if event_type != ANY and event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if listener not in _listeners.setdefault(event_type, []):
        _listeners[event_type].append(listener)
    return listener


def publish(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """Announce an event to its listeners, in the caller's transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    for listener in (*_listeners.get(event_type, ()), *_listeners.get(ANY, ())):
        listener(tenant_id, event_type, data)
