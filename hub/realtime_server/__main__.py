"""`python -m hub.realtime_server`: serve Socket.IO on REALTIME_HOST:REALTIME_PORT.

One process, one event loop: run one per core (each on its own port behind
the load balancer) to use more cores; see the README's real-time section.
"""
from __future__ import annotations

import logging
import resource

import uvicorn

from hub import create_app, tracing
from hub.realtime_server import create_realtime_app

log = logging.getLogger("hub.realtime_server")


def raise_open_files_limit() -> int:
    """Every socket is a file descriptor: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def main() -> None:
    tracing.name_service("hub-realtime")
    app = create_app()
    cfg = app.config
    asgi, _server = create_realtime_app(app)
    open_files = raise_open_files_limit()
    trusted = cfg["REALTIME_TRUSTED_PROXIES"].strip()
    log.info("realtime: Socket.IO on %s:%s%s (open files %d, transports %s)",
                cfg["REALTIME_HOST"], cfg["REALTIME_PORT"], cfg["REALTIME_PATH"], open_files,
                cfg["SOCKETIO_TRANSPORTS"])
    uvicorn.run(
        asgi, host=cfg["REALTIME_HOST"], port=int(cfg["REALTIME_PORT"]),
        # Engine.IO pings every client itself: no second, WebSocket-level heartbeat,
        # and no per-message compression (a zlib context per socket costs ~300 KB).
        ws="websockets-sansio", ws_ping_interval=None, ws_per_message_deflate=False,
        ws_max_size=int(cfg["REALTIME_MAX_MESSAGE_BYTES"]),
        limit_concurrency=int(cfg["REALTIME_MAX_CONNECTIONS"]),
        backlog=2048, timeout_keep_alive=5, timeout_graceful_shutdown=5,
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
        lifespan="on", access_log=False, log_level="warning", server_header=False,
        # One process: uvicorn would otherwise read gunicorn's WEB_CONCURRENCY as its
        # process count, and long-polling needs a session's requests on one process.
        workers=1,
    )


if __name__ == "__main__":
    main()
