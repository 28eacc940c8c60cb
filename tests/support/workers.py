"""Real workers and beats for tests: one factory behind every fixture that starts them.

`HubWorkers` starts processes configured like the test app plus the settings a test
gives, waits until each worker answers a ping, and stops everything it started. The
fixtures in tests/conftest.py hand one out per test (`workers`, and its `start_worker`
/ `start_beat`) or per module (`module_workers`, for a worker that is slow to start
and shared by a module's tests).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.processes import HubProcess, start_beat, start_ready_workers


class HubWorkers:
    def __init__(self, celery_app: Any, config: dict[str, Any], log_dir: Path) -> None:
        self.celery_app = celery_app
        self.config = config
        self.log_dir = log_dir
        self.started: list[HubProcess] = []

    def worker(self, name: str = "worker", settings: dict[str, Any] | None = None,
               **options: Any) -> HubProcess:
        """A worker named `<name>-<random>` (all queues unless `queues=`), answering pings;
        `options` go to tests.support.processes.start_worker (concurrency, queues, loglevel)."""
        return self.workers([name], settings, **options)[0]

    def workers(self, names: list[str], settings: dict[str, Any] | None = None,
                **options: Any) -> list[HubProcess]:
        """Several workers of the same settings, booting side by side (one boot's wait)."""
        started = start_ready_workers(self.celery_app, {**self.config, **(settings or {})}, self.log_dir,
                                      names, **options)
        self.started.extend(started)
        return started

    def beat(self, settings: dict[str, Any] | None = None) -> HubProcess:
        """A `celery beat` (it drives the relay: every 0.5 s with the suite's settings)."""
        beat = start_beat({**self.config, **(settings or {})}, self.log_dir)
        self.started.append(beat)
        return beat

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()
        self.started.clear()
