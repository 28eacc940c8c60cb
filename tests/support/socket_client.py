"""A real python-socketio client that records what the server sends."""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import requests
import socketio
import websocket


def realtime_endpoint(api_base: str) -> tuple[str, str]:
    """(url, path) of the Socket.IO server, from the API as a browser finds it."""
    resp = requests.get(api_base + "/api/v1/realtime", timeout=10)
    resp.raise_for_status()
    data = resp.json()["data"]
    url = data["url"] if data["url"].startswith("http") else api_base + data["url"].rstrip("/")
    return url, data["path"]


def connect(api_base: str, auth: Any, transports: list[str] | None = None) -> socketio.Client:
    """A python-socketio client connected to the hub's realtime server, sending `auth`
    (a token string is sent as `{token}`)."""
    url, path = realtime_endpoint(api_base)
    sio = socketio.Client(reconnection=False)
    sio.connect(url, socketio_path=path, auth={"token": auth} if isinstance(auth, str) else auth,
                transports=transports or ["websocket"], wait_timeout=10)
    return sio


class RecordingClient:
    def __init__(self, base_url: str, token: str, transports: list[str] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self.disconnected = threading.Event()
        url, path = realtime_endpoint(base_url)
        self.sio = socketio.Client(reconnection=False)
        for name in ("job.updated", "notification", "session.ended"):
            self.sio.on(name, self._recorder(name))
        self.sio.on("disconnect", lambda *_: self.disconnected.set())
        self.sio.connect(url, socketio_path=path, auth={"token": token},
                         transports=transports or ["websocket"], wait_timeout=10)

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


class RawSocket:
    """One Engine.IO WebSocket spoken by hand: what an idle tab, or an attacker, holds open."""

    def __init__(self, url: str, path: str, origin: str | None = None, timeout: float = 10) -> None:
        ws_url = url.replace("http", "ws", 1).rstrip("/") + path.rstrip("/") + \
            "/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(ws_url, timeout=timeout, origin=origin,
                                              suppress_origin=origin is None)
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened

    def authenticate(self, token: str) -> str:
        """Send Socket.IO's CONNECT with `auth: {token}`; return the server's answer packet."""
        self.ws.send("40" + json.dumps({"token": token}))
        while True:
            packet = self.ws.recv()
            if packet == "2":  # Engine.IO ping
                self.ws.send("3")
                continue
            return packet

    def closed_within(self, seconds: float) -> bool:
        """True once the server closed the connection, within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                packet = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                return False
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return True
            if packet == "":
                return True
            if packet == "2":
                self.ws.send("3")
        return False

    def close(self) -> None:
        try:
            self.ws.close()
        except (websocket.WebSocketException, OSError):
            pass
