"""The Redis side of a collector group: leases with fencing tokens and fenced appends, as Lua
scripts that run atomically on the server (docs/scale-out.md).

* A lease is ``SET lease OWNER/TOKEN NX PX ttl`` where ``TOKEN = INCR fence``: the counter
  never goes back, so a lease value is never reused, even for the same owner.
* Every append checks ``GET lease == OWNER/TOKEN`` in the same script as the write: a
  collector that was paused past its lease (the lease expired, or another took it) writes
  nothing, whatever it believes (the fencing token of the lease model).
* Trades: an entry is appended only if its ``sequential_id`` is new to the code's bounded
  dedupe set (a sorted set by trade time, trimmed to the newest ``dedupe`` ids), atomically
  with the append: a trade written by the old owner and fetched again from REST by the new
  one is stored once.

Entry fields: ``m`` the message as :func:`upbitws.encode` gives it (DEFAULT keys, the exact
wire numbers: decimal mode keeps each number's text), ``rt`` the receive time (epoch
microseconds), ``w`` the writer's lease value; trades add ``sid`` and ``ts``
(``trade_timestamp``) and ``src=rest`` for trades fetched from REST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from upbitws.redis._client import RedisStoreError, honour_cancel, redis_errors

if TYPE_CHECKING:
    from upbitws.redis.keys import GroupKeys

__all__ = ["FENCED", "Store", "TradeRow"]

#: What an append script returns when the writer's token is not the lease's value.
FENCED: Final = -1

_ACQUIRE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local value = ARGV[1] .. '/' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
"""

_RENEW: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

# One argument per message ("SID TS RT SRC MESSAGE", "RT MESSAGE"): redis-py packs every
# argument in Python, so five arguments per trade cost more than the script does.
# KEYS: lease, stream, seen. ARGV: token, maxlen, dedupe, then one "SID TS RT SRC M" each.
_APPEND_TRADES: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local added = 0
for i = 4, #ARGV do
  local sid, ts, rt, src, m = string.match(ARGV[i], '^(%d+) (%d+) (%d+) (%a*) (.*)$')
  if redis.call('ZADD', KEYS[3], 'NX', ts, sid) == 1 then
    local fields = {'sid', sid, 'ts', ts, 'm', m, 'rt', rt, 'w', ARGV[1]}
    if src ~= '' then
      fields[#fields + 1] = 'src'
      fields[#fields + 1] = src
    end
    if ARGV[2] == '0' then
      redis.call('XADD', KEYS[2], '*', unpack(fields))
    else
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
    end
    added = added + 1
  end
end
if added > 0 then
  local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[3])
  if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1) end
end
return added
"""

# KEYS: lease, stream, latest hash. ARGV: token, maxlen, code, then one "RT M" each.
_APPEND_PLAIN: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local m
for i = 4, #ARGV do
  local rt
  rt, m = string.match(ARGV[i], '^(%d+) (.*)$')
  if ARGV[2] == '0' then
    redis.call('XADD', KEYS[2], '*', 'm', m, 'rt', rt, 'w', ARGV[1])
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'm', m, 'rt', rt, 'w', ARGV[1])
  end
end
if m then redis.call('HSET', KEYS[3], ARGV[3], m) end
return #ARGV - 3
"""

# KEYS: members. ARGV: member, ttl ms (0: leave). Returns the live members.
_HEARTBEAT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 10 * tonumber(ARGV[3]))
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[3]), '+inf')
"""


def _queue(pipe: Any, script: Any, keys: list[str], args: list[Any]) -> None:
    """Queue ``EVALSHA`` on a pipeline; the pipeline loads the script first if Redis lacks it
    (redis-py's ``AsyncScript.__call__`` is a coroutine, unusable for queueing)."""
    pipe.scripts.add(script)
    pipe.evalsha(script.sha, len(keys), *keys, *args)


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One trade to append: its identity, time, encoded message, receive time and source."""

    sequential_id: int
    trade_timestamp: int
    message: bytes
    received_us: int
    source: str = ""  # "rest" for trades fetched from REST


class Store:
    """Scripts of one group on one ``redis.asyncio.Redis`` client (not owned: the caller
    closes it)."""

    def __init__(
        self, client: Any, keys: GroupKeys, *, maxlen: int = 100_000, dedupe: int = 4096
    ) -> None:
        self.client = client
        self.keys = keys
        self.maxlen = maxlen
        self.dedupe = dedupe
        self._errors = redis_errors()
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._trades = client.register_script(_APPEND_TRADES)
        self._plain = client.register_script(_APPEND_PLAIN)
        self._heartbeat = client.register_script(_HEARTBEAT)

    async def _call(self, what: str, awaitable: Any) -> Any:
        try:
            result = await awaitable
        except self._errors as exc:
            raise RedisStoreError(f"Redis {what} failed: {type(exc).__name__}: {exc}") from exc
        honour_cancel()
        return result

    # -- group configuration ----------------------------------------------------------------

    async def configure(self) -> None:
        """Record this group's shard count, or check it against the one recorded."""
        keys = self.keys
        await self._call("HSETNX", self.client.hsetnx(keys.config, "shards", keys.shards))
        recorded = int(await self._call("HGET", self.client.hget(keys.config, "shards")))
        if recorded != keys.shards:
            raise RedisStoreError(
                f"group {keys.group!r} runs with {recorded} shards, not {keys.shards}: "
                f"pass --shards {recorded} (or use a new group name)"
            )

    async def heartbeat(self, member: str, ttl: float, *, leave: bool = False) -> list[str]:
        """Mark ``member`` alive (or gone) and return the live members."""
        ttl_ms = max(1, int(ttl * 1000))
        raw = await self._call(
            "heartbeat",
            self._heartbeat(
                keys=[self.keys.members], args=[member, "0" if leave else ttl_ms, ttl_ms]
            ),
        )
        return [m.decode() for m in raw]

    async def owners(self) -> dict[int, str | None]:
        """Each shard's lease value (``OWNER/TOKEN``) or ``None`` when free."""
        keys = self.keys
        values = await self._call(
            "MGET", self.client.mget([keys.lease(s) for s in range(keys.shards)])
        )
        return {s: (v.decode() if v is not None else None) for s, v in enumerate(values)}

    # -- leases -----------------------------------------------------------------------------

    async def acquire(self, shard: int, owner: str, ttl: float) -> str | None:
        """Take a free lease: its value ``OWNER/TOKEN`` (the fencing token), or ``None``."""
        keys = self.keys
        value = await self._call(
            "lease acquire",
            self._acquire(
                keys=[keys.lease(shard), keys.fence(shard)], args=[owner, int(ttl * 1000)]
            ),
        )
        return value.decode() if value is not None else None

    async def renew(self, shard: int, token: str, ttl: float) -> bool:
        """Extend the lease if ``token`` still holds it."""
        done = await self._call(
            "lease renew",
            self._renew(keys=[self.keys.lease(shard)], args=[token, int(ttl * 1000)]),
        )
        return bool(done)

    async def release(self, shard: int, token: str) -> bool:
        """Delete the lease if ``token`` still holds it (a hand-over without waiting)."""
        done = await self._call(
            "lease release", self._release(keys=[self.keys.lease(shard)], args=[token])
        )
        return bool(done)

    # -- appends ----------------------------------------------------------------------------

    def queue_trades(self, pipe: Any, code: str, token: str, rows: Sequence[TradeRow]) -> None:
        """Queue one fenced, deduplicated append of ``rows`` on ``pipe`` (a pipeline)."""
        keys = self.keys
        args: list[Any] = [token, self.maxlen, self.dedupe]
        args += [
            b"%d %d %d %s %s"
            % (r.sequential_id, r.trade_timestamp, r.received_us, r.source.encode(), r.message)
            for r in rows
        ]
        shard = keys.shard(code)
        _queue(
            pipe,
            self._trades,
            [keys.lease(shard), keys.stream("trade", code), keys.seen(code)],
            args,
        )

    def queue_plain(
        self, pipe: Any, type_: str, code: str, token: str, rows: Sequence[tuple[bytes, int]]
    ) -> None:
        """Queue one fenced append of ticker / orderbook ``(message, received_us)`` rows
        that also sets the code's latest value."""
        keys = self.keys
        args: list[Any] = [token, self.maxlen, code]
        args += [b"%d %s" % (received, message) for message, received in rows]
        shard = keys.shard(code)
        stream, latest = keys.stream(type_, code), keys.latest(type_, code)
        _queue(pipe, self._plain, [keys.lease(shard), stream, latest], args)

    async def execute(self, pipe: Any) -> list[Any]:
        """Send a pipeline in one round trip; each queued append's count or ``FENCED``."""
        return list(await self._call("pipelined append", pipe.execute()))

    async def append_trades(self, code: str, token: str, rows: Sequence[TradeRow]) -> int:
        """One fenced append (not pipelined): the number of new trades, or ``FENCED``."""
        pipe = self.client.pipeline(transaction=False)
        self.queue_trades(pipe, code, token, rows)
        (result,) = await self.execute(pipe)
        return int(result)

    async def tail(self, code: str, count: int = 64) -> list[tuple[int, int]]:
        """The newest ``count`` trades of ``code`` in Redis as ``(sequential_id, ts)``,
        newest appended first: the checkpoint a new owner resumes from."""
        entries = await self._call(
            "XREVRANGE",
            self.client.xrevrange(self.keys.stream("trade", code), "+", "-", count=count),
        )
        return [(int(fields[b"sid"]), int(fields[b"ts"])) for _id, fields in entries]

    async def log(self, **fields: str | int | float) -> None:
        """Append a group event (acquired, ready, released, lost) to the group's log."""
        await self._call("XADD log", self.client.xadd(self.keys.log, dict(fields), maxlen=10_000))
