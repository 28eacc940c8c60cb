"""Sockets per user, counted across every real-time process and host in Redis.

Each open socket is a member `<server id>:<sid>` of the sorted set
`hub:realtime:sockets:<user id>`, scored with the time it stops counting. A
live server pushes that time forward every REFRESH_SECONDS, so the sockets of
a server that died without closing them stop counting within CLAIM_SECONDS.
Claiming is one Lua script: drop expired members, count, add if under the cap.
"""
from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CLAIM_SECONDS = 90
REFRESH_SECONDS = 30
KEY_PREFIX = "hub:realtime:sockets:"

_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class UserSocketCap:
    """REALTIME_MAX_SOCKETS_PER_USER: a new socket over the cap is refused."""

    def __init__(self, redis_url: str, limit: int, server_id: str) -> None:
        self.limit = limit
        self.server_id = server_id
        self.redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
        self._claim = self.redis.register_script(_CLAIM)

    def _member(self, sid: str) -> str:
        return f"{self.server_id}:{sid}"

    async def claim(self, user_id: str, sid: str) -> bool:
        """Count the socket for its user; False if the user is at the cap.

        With Redis unreachable the socket is let in (the message queue is down
        too, so it would hear nothing until Redis is back); logged.
        """
        now = time.time()
        try:
            return bool(await self._claim(keys=[KEY_PREFIX + user_id],
                                          args=[now, now + CLAIM_SECONDS, self._member(sid),
                                                self.limit, CLAIM_SECONDS]))
        except RedisError as exc:
            log.warning("socket cap not checked, Redis unreachable: %s", exc)
            return True

    async def release(self, user_id: str, sid: str) -> None:
        try:
            await self.redis.zrem(KEY_PREFIX + user_id, self._member(sid))
        except RedisError as exc:
            log.warning("socket cap not released (it expires by itself): %s", exc)

    async def refresh(self, sockets: dict[str, str]) -> None:
        """Keep this server's open sockets counted ({sid: user id})."""
        if not sockets:
            return
        until = time.time() + CLAIM_SECONDS
        try:
            pipe = self.redis.pipeline(transaction=False)
            for sid, user_id in sockets.items():
                key = KEY_PREFIX + user_id
                pipe.zadd(key, {self._member(sid): until})
                pipe.expire(key, CLAIM_SECONDS)
            await pipe.execute()
        except RedisError as exc:
            log.warning("socket cap refresh failed: %s", exc)

    async def close(self) -> None:
        await self.redis.aclose()
