"""A real python-socketio client that records what the server sends."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import socketio


class RecordingClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.events: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        for name in ("job.updated", "notification"):
            self.sio.on(name, self._recorder(name))
        self.sio.connect(base_url, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._lock:
                self.events.append((name, data))
        return record

    def job_updates(self, job_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [d for n, d in self.events
                    if n == "job.updated" and (job_id is None or d["id"] == job_id)]

    def wait_for_status(self, job_id: str, status: str, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            updates = self.job_updates(job_id)
            if any(u["status"] == status for u in updates):
                return updates
            time.sleep(0.05)
        raise AssertionError(f"no job.updated with status {status!r} for {job_id} in {timeout}s; "
                             f"got {[(u['status'], u['progress']) for u in self.job_updates(job_id)]}")

    def call(self, event: str, data: Any) -> Any:
        return self.sio.call(event, data, timeout=10)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
