"""The real-time process: Socket.IO for browsers, apart from the API's request threads.

`python -m hub.realtime_server` (the Procfile's `realtime`) serves Socket.IO on
REALTIME_HOST:REALTIME_PORT with uvicorn. The API answers `GET
/api/v1/realtime` with where this server is. Plain HTTP paths other than the
Socket.IO endpoint: `GET /health/live` for load balancers, 404 otherwise.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import socketio
from flask import Flask

from hub.realtime_server import control
from hub.realtime_server.server import HubSocketServer
from hub.web.security_headers import socket_origin_check

log = logging.getLogger(__name__)


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body).encode()


async def _plain_http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Everything that is not Socket.IO: a liveness probe, else a 404 in the error envelope."""
    if scope["type"] != "http":
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        return
    if scope["path"] == "/health/live" and scope["method"] in ("GET", "HEAD"):
        status, body = _json(200, {"success": True, "data": {"status": "live"}})
    else:
        status, body = _json(404, {"success": False, "error": True, "code": "NOT_FOUND",
                                   "message": "Not found: this server only speaks Socket.IO.",
                                   "details": {}, "meta": {}})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_realtime_app(app: Flask) -> tuple[socketio.ASGIApp, HubSocketServer]:
    """The ASGI app serving Socket.IO for `app`'s settings, and its server."""
    cfg = app.config
    transports = [t.strip() for t in cfg["SOCKETIO_TRANSPORTS"].split(",") if t.strip()]
    server = HubSocketServer(app, cors_allowed_origins=socket_origin_check(app),
                             transports=transports)
    tasks: list[asyncio.Task[Any]] = []

    async def startup() -> None:
        tasks.append(asyncio.create_task(control.listen_for_revocations(server, cfg["REDIS_URL"])))
        tasks.append(asyncio.create_task(
            control.recheck_periodically(server, float(cfg["REALTIME_RECHECK_SECONDS"]))))
        tasks.append(asyncio.create_task(control.refresh_claims_periodically(server)))
        tasks.append(asyncio.create_task(control.report_connections(server)))

    async def shutdown() -> None:
        await server.close_all()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.user_cap.close()
        server.executor.shutdown(wait=False, cancel_futures=True)

    path = cfg["REALTIME_PATH"].strip("/")
    asgi = socketio.ASGIApp(server, other_asgi_app=_plain_http, socketio_path=path,
                            on_startup=startup, on_shutdown=shutdown)
    return asgi, server
