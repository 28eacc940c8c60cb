"""Background work of a real-time process: ending sockets whose rights ended.

- `listen_for_revocations` follows hub.realtime.CONTROL_CHANNEL in Redis: a
  revoked token or login family closes its sockets at once; a changed user or
  tenant has its sockets checked again (identity.recheck).
- `recheck_periodically` checks every socket every REALTIME_RECHECK_SECONDS,
  which also catches a revocation published while Redis was unreachable.
- `refresh_claims_periodically` keeps the per-user socket count alive (limits.py).
- `report_connections` publishes this process's connection count (hub/metrics.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.metrics import SOCKETS_KEY_PREFIX
from hub.realtime import CONTROL_CHANNEL
from hub.realtime_server.limits import REFRESH_SECONDS
from hub.realtime_server.server import HubSocketServer

log = logging.getLogger(__name__)


async def handle_control(server: HubSocketServer, message: dict[str, Any]) -> None:
    """Apply one control message to this process's sockets."""
    reason = str(message.get("reason") or "session_ended")
    if message.get("op") == "revoke":
        family, jti = message.get("family"), message.get("jti")
        doomed = [sid for sid, ident in server.identities.items()
                  if (family and ident.family == family) or (jti and ident.jti == jti)]
        await asyncio.gather(*(server.end(sid, reason) for sid in doomed))
    elif message.get("op") == "recheck":
        user_id, tenant_id = message.get("user_id"), message.get("tenant_id")
        if user_id:
            sids = list(server.by_user.get(str(user_id), ()))
        else:
            sids = [sid for sid, ident in server.identities.items()
                    if ident.tenant_id == str(tenant_id)]
        if sids:
            await server.recheck(sids, reason)


async def listen_for_revocations(server: HubSocketServer, redis_url: str) -> None:
    """Follow the control channel until cancelled, reconnecting after Redis outages."""
    delay = 0.5
    while True:
        client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CONTROL_CHANNEL)
            if delay > 0.5:
                # Revocations may have been published while we could not hear them.
                try:
                    await server.recheck(list(server.identities), "session_ended")
                except Exception:  # noqa: BLE001 - the periodic re-check tries again
                    log.exception("re-check after the control channel came back failed")
            delay = 0.5
            async for raw in pubsub.listen():
                try:
                    message = json.loads(raw["data"])
                except (TypeError, ValueError):
                    continue
                if isinstance(message, dict):
                    try:
                        await handle_control(server, message)
                    except Exception:  # noqa: BLE001 - one bad message must not stop the listener
                        log.exception("control message %r failed", message)
        except (RedisError, OSError) as exc:
            log.warning("control channel lost (%s); retrying in %.1f s", exc, delay)
        finally:
            try:
                await pubsub.aclose()
                await client.aclose()
            except (RedisError, OSError):
                pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)


async def recheck_periodically(server: HubSocketServer, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            ended = await server.recheck(list(server.identities), "session_ended")
            if ended:
                log.info("periodic re-check closed %d sockets", ended)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("periodic socket re-check failed")


async def refresh_claims_periodically(server: HubSocketServer) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        await server.refresh_claims()


async def report_connections(server: HubSocketServer, every: float = 10.0) -> None:
    """This process's open connections, for the API's hub_socket_connections gauge: a key
    per process that expires unless refreshed, so a dead process stops counting."""
    key = SOCKETS_KEY_PREFIX + server.server_id
    while True:
        try:
            await server.user_cap.redis.set(key, len(server.eio.sockets), ex=int(every * 3))
        except (RedisError, OSError) as exc:
            log.debug("could not report the connection count: %s", exc)
        await asyncio.sleep(every)
