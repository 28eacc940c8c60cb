"""Periodic work: declared beside its task, switchable, and run once per interval.

`periodic(...)` registers a beat entry for a task, read from settings (an
interval and an on/off switch). `run_once(...)` wraps the task's body in a
Redis lock, so two beat processes started by mistake do not double the work.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import redis
from flask import Flask

from hub.extensions import redis_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicEntry:
    task: str
    interval_setting: str | None   # seconds, from settings
    every: float | None            # fixed seconds, when no setting
    enabled_setting: str | None


_entries: list[PeriodicEntry] = []


def periodic(task: str, *, interval_setting: str | None = None, every: float | None = None,
             enabled_setting: str | None = None) -> None:
    _entries.append(PeriodicEntry(task, interval_setting, every, enabled_setting))


def beat_schedule(app: Flask) -> dict[str, dict]:
    schedule = {}
    for entry in _entries:
        if entry.enabled_setting and not app.config[entry.enabled_setting]:
            continue
        seconds = float(app.config[entry.interval_setting]) if entry.interval_setting else entry.every
        schedule[entry.task] = {"task": entry.task, "schedule": seconds,
                                "options": {"expires": max(1.0, seconds)}}
    return schedule


def quiet_in_flower(celery_app: Any) -> None:
    """Periodic ticks send no task events: Flower lists jobs, not the relay every 2 s.

    A failing tick still logs its error in the worker, and beat's schedule is the
    record of when each ran. Call after the task modules are imported.
    """
    for entry in _entries:
        task = celery_app.tasks.get(entry.task)
        if task is not None:
            task.send_events = False


@contextmanager
def run_once(name: str, ttl: float) -> Iterator[bool]:
    """Yield True if this process holds the lock `name` for up to `ttl` seconds."""
    key = f"hub:lock:{name}"
    try:
        client = redis_client()
        lock = client.lock(key, timeout=max(1.0, ttl), blocking=False)
        acquired = lock.acquire(blocking=False)
    except redis.RedisError as exc:
        # Without Redis nothing can be dispatched anyway; skip this round.
        log.warning("skipping %s: no lock (%s)", name, exc)
        yield False
        return
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.RedisError:
                pass  # it expires on its own
