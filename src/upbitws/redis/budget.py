"""A connect budget shared through Redis: at most 5 WebSocket upgrades per sliding second per
key, for every collector of a group together (Upbit's ``websocket-connect`` limit is per IP,
protocol §7), so a whole group restarting at once gets no 429.

The window lives in one sorted set per key, checked and updated by one Lua script on the
server's clock (``TIME``): processes on hosts with skewed clocks still share one window.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any, Final

from upbitws.exceptions import ConfigurationError
from upbitws.redis._client import RedisStoreError, honour_cancel, redis_errors
from upbitws.redis.keys import GroupKeys

__all__ = ["RedisConnectBudget"]

# KEYS: the window. ARGV: limit, window (µs), a unique member.
# Returns 0 when admitted (and counted), else the µs to wait.
_ACQUIRE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RedisConnectBudget:
    """``limit`` upgrades per ``period`` seconds per key, shared by every process of ``group``
    on one Redis (``client`` is a ``redis.asyncio.Redis``, not owned). A
    :class:`upbitws.client.budget.ConnectBudget`: pass it as ``connect(connect_budget=...)``.

    ``margin`` widens the window a little, as the client's own limiter does, so that the
    time between our admission and the server's count of the upgrade cannot fit a 6th.
    """

    def __init__(
        self,
        client: Any,
        group: str,
        *,
        limit: int = 5,
        period: float = 1.0,
        margin: float = 0.05,
    ) -> None:
        if limit < 1 or period <= 0 or margin < 0:
            raise ConfigurationError("connect budget: limit >= 1, period > 0, margin >= 0")
        self._client = client
        self._keys = GroupKeys(group, 1)
        self._limit = limit
        self._window_us = int((period + margin) * 1_000_000)
        self._script = client.register_script(_ACQUIRE)
        self._ids = itertools.count()
        self._me = os.urandom(6).hex()
        self._errors = redis_errors()

    async def acquire(self, key: str) -> None:
        """Wait until one more upgrade to ``key`` fits the shared window, and count it."""
        while True:
            member = f"{self._me}:{next(self._ids)}"
            try:
                wait_us = await self._script(
                    keys=[self._keys.budget(key)], args=[self._limit, self._window_us, member]
                )
            except self._errors as exc:
                raise RedisStoreError(f"connect budget: {type(exc).__name__}: {exc}") from exc
            honour_cancel()
            if not wait_us:
                return
            await asyncio.sleep(int(wait_us) / 1_000_000)
