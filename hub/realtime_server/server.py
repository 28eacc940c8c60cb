"""The Socket.IO server: asyncio, so an open socket costs memory, never a thread.

One process holds thousands of sockets on one event loop. Whatever needs the
database or the token blocklist (authenticating, subscribing, re-checking)
runs in a small thread pool inside the Flask app context (identity.py), so the
loop never blocks on a query. Events from the API and the workers arrive
through the Redis message queue (python-socketio's AsyncRedisManager on the
channel every emitter publishes to), so any process or host can reach any
socket.

Limits (settings in hub/config.py):
- a connection that has not authenticated within REALTIME_AUTH_TIMEOUT seconds
  is closed, whether it sent no token, a refused one, or nothing at all;
- REALTIME_MAX_SOCKETS_PER_USER across every real-time process (limits.py);
- REALTIME_MAX_CONNECTIONS per process, and REALTIME_MAX_CONNECTIONS_PER_IP
  per process (off when 0);
- REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET job rooms per socket;
- a socket closes when its access token expires unless the client sent a
  fresher one (`reauth`), and when its rights end (control.py).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import socketio
from flask import Flask

from hub.realtime import STAFF_ROOM, job_room, tenant_room, user_room
from hub.realtime_server import identity
from hub.realtime_server.identity import Identity, Refused
from hub.realtime_server.limits import UserSocketCap

log = logging.getLogger(__name__)

SESSION_ENDED = "session.ended"
CLOSE_WAIT_SECONDS = 2.0


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def client_address(environ: dict[str, Any]) -> str:
    """The peer's address (uvicorn already replaced it with X-Forwarded-For's from a
    trusted proxy, REALTIME_TRUSTED_PROXIES)."""
    return str(environ.get("REMOTE_ADDR") or "unknown")


class HubSocketServer(socketio.AsyncServer):
    """python-socketio's AsyncServer with the hub's authentication, rooms and limits."""

    def __init__(self, app: Flask, **engineio_options: Any) -> None:
        cfg = app.config
        super().__init__(
            async_mode="asgi",
            client_manager=socketio.AsyncRedisManager(cfg["REDIS_URL"], channel="flask-socketio"),
            logger=False, engineio_logger=False, cors_credentials=False,
            max_http_buffer_size=cfg["REALTIME_MAX_MESSAGE_BYTES"],
            **engineio_options)
        self.flask_app = app
        self.auth_timeout = float(cfg["REALTIME_AUTH_TIMEOUT"])
        self.max_per_ip = int(cfg["REALTIME_MAX_CONNECTIONS_PER_IP"])
        self.max_connections = int(cfg["REALTIME_MAX_CONNECTIONS"])
        self.max_subscriptions = int(cfg["REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET"])
        self.server_id = uuid.uuid4().hex[:12]
        self.user_cap = UserSocketCap(cfg["REDIS_URL"], int(cfg["REALTIME_MAX_SOCKETS_PER_USER"]),
                                      self.server_id)
        self.executor = ThreadPoolExecutor(max_workers=int(cfg["REALTIME_DB_THREADS"]),
                                           thread_name_prefix="realtime-db")
        self.identities: dict[str, Identity] = {}
        self.by_user: dict[str, set[str]] = {}
        self.subscriptions: dict[str, set[str]] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._auth_deadline: dict[str, asyncio.TimerHandle] = {}
        self._address: dict[str, str] = {}
        self.per_address: dict[str, int] = {}
        for event, handler in (("connect", self._on_connect), ("disconnect", self._on_disconnect),
                               ("subscribe", self._on_subscribe),
                               ("unsubscribe", self._on_unsubscribe),
                               ("reauth", self._on_reauth)):
            self.on(event, handler)

    # --- running blocking checks off the loop ------------------------------

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in the thread pool, inside the Flask app context."""
        def call() -> Any:
            with self.flask_app.app_context():
                return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # --- Engine.IO level: per-address cap, authentication deadline ---------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        address = client_address(environ)
        if len(self.eio.sockets) > self.max_connections:  # this one is counted already
            log.warning("refused a connection: %d open, REALTIME_MAX_CONNECTIONS", self.max_connections)
            return "this server is full; retry later or on another server"
        if self.max_per_ip and self.per_address.get(address, 0) >= self.max_per_ip:
            log.info("refused a connection from %s: %d open", address, self.max_per_ip)
            return (f"too many connections from this address (at most {self.max_per_ip}); "
                    "close some and retry")
        self.per_address[address] = self.per_address.get(address, 0) + 1
        self._address[eio_sid] = address
        loop = asyncio.get_running_loop()
        self._auth_deadline[eio_sid] = loop.call_later(
            self.auth_timeout, lambda: asyncio.ensure_future(self._auth_expired(eio_sid)))
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _auth_expired(self, eio_sid: str) -> None:
        if self._auth_deadline.pop(eio_sid, None) is not None:
            log.info("closed a connection that did not authenticate within %.1f s",
                     self.auth_timeout)
            await self.close_connection(eio_sid)

    async def close_connection(self, eio_sid: str) -> None:
        """Close an Engine.IO connection for good, whether or not the client cooperates.

        Engine.IO's disconnect sends a CLOSE packet, and its WebSocket writer then
        waits up to ping_interval + ping_timeout for more to send before closing
        the connection: a client that ignores the CLOSE would keep its TCP
        connection that long. Queuing `None` (what Engine.IO does itself when the
        reader ends) ends the writer, which closes the WebSocket at once.
        """
        sock = self.eio.sockets.get(eio_sid)
        try:
            # Engine.IO waits until its last packets are taken, which a long-polling client
            # that stopped polling (a closed tab) never does: that wait must not hold the
            # caller (the control listener serves every other socket of this process).
            await asyncio.wait_for(self.eio.disconnect(eio_sid), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            self.eio.sockets.pop(eio_sid, None)
        if sock is not None:
            sock.queue.put_nowait(None)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        timer = self._auth_deadline.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()
        address = self._address.pop(eio_sid, None)
        if address is not None:
            left = self.per_address.get(address, 1) - 1
            if left > 0:
                self.per_address[address] = left
            else:
                self.per_address.pop(address, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    # --- Socket.IO handlers ------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            ident: Identity = await self.run_sync(identity.authenticate, token)
        except Refused as exc:
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from None
        if not await self.user_cap.claim(ident.user_id, sid):
            raise socketio.exceptions.ConnectionRefusedError(
                f"too many open connections for this user (at most {self.user_cap.limit}); "
                "close other tabs or windows and retry")
        eio_sid = self.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is None or eio_sid not in self.environ:  # the client left meanwhile
            await self.user_cap.release(ident.user_id, sid)
            return False
        timer = self._auth_deadline.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()
        self._remember(sid, ident)
        await self.enter_room(sid, user_room(ident.user_id))
        await self.enter_room(sid, tenant_room(ident.tenant_id))
        if ident.is_staff:
            await self.enter_room(sid, STAFF_ROOM)
        return True

    def _remember(self, sid: str, ident: Identity) -> None:
        self.identities[sid] = ident
        self.by_user.setdefault(ident.user_id, set()).add(sid)
        old = self._expiry.pop(sid, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, ident.exp - time.time())
        self._expiry[sid] = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self.end(sid, "token_expired")))

    async def _on_disconnect(self, sid: str, _reason: Any = None) -> None:
        ident = self.identities.pop(sid, None)
        self.subscriptions.pop(sid, None)
        timer = self._expiry.pop(sid, None)
        if timer is not None:
            timer.cancel()
        if ident is not None:
            sids = self.by_user.get(ident.user_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self.by_user[ident.user_id]
            await self.user_cap.release(ident.user_id, sid)

    async def _on_subscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        ident = self.identities.get(sid)
        if ident is None:
            return _error("UNAUTHORIZED", "log in again")
        job_id = data.get("job_id") if isinstance(data, dict) else None
        rooms = self.subscriptions.setdefault(sid, set())
        if job_id not in rooms and len(rooms) >= self.max_subscriptions:
            return _error("LIMIT_REACHED", f"at most {self.max_subscriptions} job subscriptions "
                                           "per connection; unsubscribe from some first")
        try:
            payload = await self.run_sync(identity.visible_job, ident, job_id)
        except ValueError as exc:
            return _error("VALIDATION_ERROR", str(exc))
        except Refused as exc:
            return _error("NOT_FOUND", str(exc))
        if sid not in self.identities:
            return _error("UNAUTHORIZED", "log in again")
        rooms.add(str(job_id))
        await self.enter_room(sid, job_room(job_id))
        return {"ok": True, "job": payload}

    async def _on_unsubscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            return _error("VALIDATION_ERROR", "send {job_id: <job id>}")
        self.subscriptions.get(sid, set()).discard(job_id)
        await self.leave_room(sid, job_room(job_id))
        return {"ok": True}

    async def _on_reauth(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A fresher access token for the same user keeps the socket past the old expiry."""
        current = self.identities.get(sid)
        if current is None:
            return _error("UNAUTHORIZED", "log in again")
        token = data.get("token") if isinstance(data, dict) else None
        try:
            ident: Identity = await self.run_sync(identity.authenticate, token)
        except Refused as exc:
            return _error("UNAUTHORIZED", str(exc))
        if ident.user_id != current.user_id:
            return _error("FORBIDDEN", "the token is another user's; connect again instead")
        if sid not in self.identities:
            return _error("UNAUTHORIZED", "log in again")
        self._remember(sid, ident)
        await self._set_staff(sid, ident.is_staff)
        return {"ok": True, "expires_at": int(ident.exp)}

    # --- ending sockets -------------------------------------------------------

    async def end(self, sid: str, reason: str) -> None:
        """Tell the client why (`session.ended`), then close its socket."""
        if sid not in self.identities:
            return
        eio_sid = self.manager.eio_sid_from_sid(sid, "/")
        try:
            await self.emit(SESSION_ENDED, {"reason": reason}, to=sid)
        finally:
            await self.disconnect(sid)
            if eio_sid is not None:
                await self.close_connection(eio_sid)

    async def _set_staff(self, sid: str, is_staff: bool) -> None:
        if is_staff:
            await self.enter_room(sid, STAFF_ROOM)
        else:
            await self.leave_room(sid, STAFF_ROOM)

    async def recheck(self, sids: list[str], reason: str) -> int:
        """Check sockets again as if they connected now; end those no longer allowed."""
        ended = 0
        for start in range(0, len(sids), 500):
            batch = {sid: self.identities[sid] for sid in sids[start:start + 500]
                     if sid in self.identities}
            if not batch:
                continue
            verdicts = await self.run_sync(identity.recheck, batch)
            for sid, staff in verdicts.items():
                if sid not in self.identities:
                    continue
                if staff is None:
                    ended += 1
                    await self.end(sid, reason)
                else:
                    ident = self.identities[sid]
                    if staff != ident.is_staff:
                        self.identities[sid] = dataclasses.replace(ident, is_staff=staff)
                    await self._set_staff(sid, staff)
        return ended

    async def close_all(self) -> None:
        """Close every socket of this process (on stop); clients reconnect elsewhere."""
        for eio_sid in list(self.eio.sockets):
            try:
                await self.close_connection(eio_sid)
            except Exception:  # noqa: BLE001 - stopping anyway
                log.debug("could not close %s on stop", eio_sid, exc_info=True)

    async def refresh_claims(self) -> None:
        await self.user_cap.refresh({sid: i.user_id for sid, i in self.identities.items()})

