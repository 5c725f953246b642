"""One collector of a group: holds shard leases, streams its shards' markets from Upbit, and
appends every message to Redis under its fencing token (docs/scale-out.md).

The decisions (which shards to take, renew, hand over, count lost) are
:class:`~upbitws.protocol.shards.LeaseKeeper`'s; this module performs them:

* **Tick** (every ``lease_ttl / 3``): heartbeat the member set, read every lease, plan,
  renew / release / acquire. A shard taken over is resumed per trade code from the newest
  trade already in Redis (the stream is the checkpoint): ``Stream.resume_trades`` before
  the code is subscribed, so REST fills everything after it and the dedupe set in Redis
  drops what the old owner wrote already.
* **Write**: messages are batched while the previous batch is in flight and written in one
  pipelined round trip per batch: one fenced script call per type and code.
* **Stop** (SIGTERM): stop streaming, write what was received, release every lease and
  leave the member set, so the others take the shards on their next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import upbitws
from upbitws.client.events import GapFilled, GapUnrecoverable, LifecycleEvent
from upbitws.client.stream import Stream, connect
from upbitws.exceptions import ConfigurationError
from upbitws.models import Orderbook, RecoveredTrade, Ticker, Trade
from upbitws.protocol.backfill import TradeMark
from upbitws.protocol.codec import encode
from upbitws.protocol.shards import LeaseKeeper, partition
from upbitws.redis._client import open_client
from upbitws.redis.budget import RedisConnectBudget
from upbitws.redis.keys import TYPES, GroupKeys
from upbitws.redis.store import FENCED, Store, TradeRow

if TYPE_CHECKING:
    from upbitws.protocol.subscriptions import Subscription

__all__ = ["Collector", "CollectorStats"]

log = logging.getLogger("upbitws.redis")

_SUBSCRIBE = {"trade": upbitws.trade, "ticker": upbitws.ticker, "orderbook": upbitws.orderbook}
_CLASSES = ((Trade, "trade"), (Ticker, "ticker"), (Orderbook, "orderbook"))
#: Messages per pipelined round trip, and per script call: a bounded time in Redis per call
#: (scripts block the server) and a bounded delay for the lease renewals queued behind.
_MAX_BATCH = 4096
_MAX_CALL = 512


@dataclass(slots=True)
class CollectorStats:
    """Counters of one collector."""

    received: int = 0
    written: int = 0  # entries appended
    duplicates: int = 0  # trades Redis already had (dropped by the dedupe set)
    fenced: int = 0  # messages refused because the lease was no longer ours
    dropped: int = 0  # messages of shards not held (received after a hand-over)
    batches: int = 0
    #: Seconds from receipt to the acknowledged write, sampled (at most ``latency_samples``).
    latencies: list[float] = field(default_factory=list)


class Collector:
    """Collect ``types`` of ``markets`` into Redis as one member of ``group``."""

    def __init__(
        self,
        redis_url: str,
        *,
        group: str,
        markets: Sequence[str],
        types: Iterable[str] = TYPES,
        shards: int = 16,
        lease_ttl: float = 5.0,
        url: str | None = None,
        maxlen: int = 100_000,
        dedupe: int = 4096,
        member: str | None = None,
        stream_options: Mapping[str, Any] | None = None,
        latency_samples: int = 0,
    ) -> None:
        self.types = tuple(dict.fromkeys(types))
        bad = [t for t in self.types if t not in TYPES]
        if bad or not self.types:
            raise ConfigurationError(
                f"bad --types {','.join(self.types)!r}: use some of {','.join(TYPES)}"
            )
        if not markets:
            raise ConfigurationError("no markets to collect")
        if maxlen < 0 or dedupe < 1:
            raise ConfigurationError("maxlen must be >= 0 (0: no trimming), dedupe >= 1")
        self.redis_url = redis_url
        self.keys = GroupKeys(group, shards)
        self.member = member or f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"
        if "/" in self.member:
            raise ConfigurationError(f"member name {self.member!r} must not contain '/'")
        self.keeper = LeaseKeeper(self.member, shards, lease_ttl)
        self.table = partition(markets, shards)
        self.url = url
        self.stats = CollectorStats()
        self._maxlen, self._dedupe = maxlen, dedupe
        self._options = dict(stream_options or {})
        if not self._options.get("backfill", True):
            raise ConfigurationError("a collector needs backfill=True: takeovers resume from REST")
        self._latency_samples = latency_samples
        self._store: Store | None = None
        self._stream: Stream | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tokens: dict[int, str] = {}
        self._active: set[str] = set()  # codes subscribed for their held shard
        self._awaiting: dict[str, int] = {}  # resumed trade codes not yet backfilled
        self._started: dict[int, float] = {}  # shard -> when acquired (time.time())
        self._fenced: set[str] = set()  # tokens Redis refused (not shards: a shard may
        # have been taken again under a new token while the refused write was in flight)
        self._batch: list[tuple[int, Any]] = []
        self._wake = asyncio.Event()
        self._poke = asyncio.Event()
        self._stopping = False
        self._budget: RedisConnectBudget | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Collect until ``stop`` is set, then hand every shard over and return."""
        client = open_client(self.redis_url)
        try:
            store = self._store = Store(client, self.keys, maxlen=self._maxlen, dedupe=self._dedupe)
            await store.configure()
            self._budget = RedisConnectBudget(client, self.keys.group)
            async with asyncio.TaskGroup() as group:
                self._group = group
                leases = group.create_task(self._leases(), name="upbitws-leases")
                writer = group.create_task(self._writer(), name="upbitws-writer")
                await stop.wait()
                # Flags, not cancellation: a lease request cut short by a cancel could leave a
                # lease taken in Redis but unknown here (and redis-py may swallow a cancel).
                self._stopping = True
                self._poke.set()
                await leases
                if self._stream is not None:
                    await self._stream.aclose()  # the pump ends
                self._wake.set()
                await writer  # writes what was received, then ends
                await self._shutdown()
        finally:
            self._group = None
            if self._stream is not None:
                await self._stream.aclose()
            await client.aclose()

    async def _shutdown(self) -> None:
        """Release every lease and leave the group (streaming stopped, everything written)."""
        assert self._store is not None
        for shard, token in sorted(self._tokens.items()):
            await self._store.release(shard, token)
            await self._store.log(event="released", shard=shard, member=self.member, t=time.time())
            self.keeper.released(shard)
        self._tokens.clear()
        await self._store.heartbeat(self.member, self.keeper.ttl, leave=True)

    # -- leases -----------------------------------------------------------------------------

    async def _leases(self) -> None:
        store, keeper = self._store, self.keeper
        assert store is not None
        # Announce ourselves one short beat before the first plan, so collectors started
        # together see each other and do not take everything first and hand it over after.
        await store.heartbeat(self.member, keeper.ttl)
        await asyncio.sleep(min(keeper.renew_every, 0.5))
        while not self._stopping:
            now = time.monotonic()
            members = await store.heartbeat(self.member, keeper.ttl)
            values = await store.owners()
            owners = {s: v.partition("/")[0] if v else None for s, v in values.items()}
            plan = keeper.plan(now, members, owners)
            lost = set(plan.lost)
            lost |= {s for s in keeper.held if self._tokens.get(s) in self._fenced}
            lost |= {s for s in keeper.held if values.get(s) != self._tokens.get(s)}
            self._fenced.clear()
            for shard in sorted(lost):
                await self._stop_shard(shard, "lost")
            for shard in plan.renew:
                if shard in lost:
                    continue
                sent = time.monotonic()
                if await store.renew(shard, self._tokens[shard], keeper.ttl):
                    keeper.renewed(shard, sent)
                else:
                    await self._stop_shard(shard, "lost")
            for shard in plan.release:
                if shard not in lost:
                    await store.release(shard, self._tokens[shard])
                    await self._stop_shard(shard, "released")
            for shard in plan.acquire:
                sent = time.monotonic()
                token = await store.acquire(shard, self.member, keeper.ttl)
                if token is not None:
                    keeper.acquired(shard, sent)
                    self._tokens[shard] = token
                    self._started[shard] = time.time()
                    await store.log(
                        event="acquired", shard=shard, member=self.member, t=time.time()
                    )
            await self._subscribe_held()
            self._poke.clear()
            delay = keeper.next_tick(time.monotonic()) - time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._poke.wait()

    async def _stop_shard(self, shard: int, why: str) -> None:
        assert self._store is not None
        self.keeper.drop(shard)
        self._tokens.pop(shard, None)
        self._started.pop(shard, None)
        codes = [c for c in self.table[shard] if c in self._active]
        self._active.difference_update(codes)
        for code in codes:
            self._awaiting.pop(code, None)
        if codes and self._stream is not None:
            for type_ in self.types:
                await self._stream.unsubscribe(type_, *codes)
        log.warning("shard %d %s (%d markets)", shard, why, len(codes))
        await self._store.log(event=why, shard=shard, member=self.member, t=time.time())

    async def _subscribe_held(self) -> None:
        """Subscribe the markets of held shards not yet subscribed, each trade code resumed
        from the newest trade in Redis first (retried next tick if the stream refuses)."""
        store = self._store
        assert store is not None
        subs: list[Subscription] = []
        resumes: list[tuple[str, TradeMark, list[int]]] = []
        for shard in sorted(self._tokens):
            for code in self.table[shard]:
                if code in self._active:
                    continue
                if "trade" in self.types:
                    tail = await store.tail(code)
                    if tail:
                        sid, ts = max(tail, key=lambda row: row[1])
                        resumes.append((code, TradeMark(sid, ts), [s for s, _ in tail]))
                subs.extend(_SUBSCRIBE[t](code) for t in self.types)
        if not subs:
            await self._ready()
            return
        stream = self._stream
        fresh = stream is None
        if stream is None:
            stream = self._stream = self._connect(subs)
        refused: set[str] = set()
        for code, mark, known in resumes:
            try:
                stream.resume_trades(code, mark, known=known)
            except ConfigurationError:  # still being delivered (an unsubscribe not yet sent)
                refused.add(code)  # only an existing stream refuses: retried next tick
            else:
                self._awaiting[code] = self.keys.shard(code)
        if refused:
            # The stream still delivers (or still backfills) these codes from an earlier
            # ownership: a fresh stream resumes every held market from Redis instead.
            await self._restart_stream()
            await self._subscribe_held()
            return
        self._active.update(s.codes[0] for s in subs)
        if fresh:
            await stream.start()  # its upgrade waits for the group's connect budget
            assert self._group is not None
            self._group.create_task(self._pump(stream), name="upbitws-pump")
        elif subs:
            await stream.subscribe(*subs)
        await self._ready()

    async def _restart_stream(self) -> None:
        stream, self._stream = self._stream, None
        log.warning("restarting the stream to resume re-acquired markets from Redis")
        self._active.clear()
        self._awaiting.clear()
        if stream is not None:
            await stream.aclose()  # its pump ends; what it received is still written

    async def _ready(self) -> None:
        """Log shards whose every market is subscribed and backfilled (a takeover done)."""
        assert self._store is not None
        for shard, since in list(self._started.items()):
            codes = self.table[shard]
            if all(c in self._active and c not in self._awaiting for c in codes):
                del self._started[shard]
                took = time.time() - since
                await self._store.log(
                    event="ready", shard=shard, member=self.member, t=time.time(), took=took
                )

    # -- streaming --------------------------------------------------------------------------

    def _connect(self, subs: list[Subscription]) -> Stream:
        options = {"numbers": "decimal", **self._options}
        if self.url is not None:
            options["url"] = self.url
        # Every upgrade of this stream, reconnects included, waits for the group's budget
        # (5/s per host shared through Redis, protocol §7): a group restarting at once gets
        # no 429.
        options["connect_budget"] = self._budget
        stream = connect(subs, **options)
        stream.on_event(self._on_event)
        return stream

    async def _on_event(self, event: LifecycleEvent) -> None:
        if isinstance(event, GapFilled | GapUnrecoverable) and event.type == "trade":
            if isinstance(event, GapUnrecoverable):
                log.error("trades of %s could not be recovered: %s", event.code, event.reason)
                assert self._store is not None
                await self._store.log(
                    event="unrecoverable", code=event.code, member=self.member, t=time.time()
                )
            if self._awaiting.pop(event.code, None) is not None:
                await self._ready()

    async def _pump(self, stream: Stream) -> None:
        wake, stats, active = self._wake, self.stats, self._active
        with contextlib.suppress(upbitws.StreamClosedError):
            async for item in stream:
                stats.received += 1
                # Only markets this stream resumed for the current ownership: a server that
                # still sends a released market (its unsubscribe not yet sent) must not add
                # trades past a hole in Redis, or the next resume starts after the hole.
                if item.code not in active or stream is not self._stream:
                    stats.dropped += 1
                    continue
                self._batch.append((time.time_ns() // 1000, item))  # the writer swaps the list
                wake.set()

    # -- writing ----------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()
            if self._stopping and not self._batch:
                return

    async def _flush(self) -> None:
        batch = self._batch
        if len(batch) > _MAX_BATCH:  # bound one round trip (and the scripts' time in Redis)
            batch, self._batch = batch[:_MAX_BATCH], batch[_MAX_BATCH:]
            self._wake.set()
        else:
            self._batch = []
        if not batch:
            return
        store, stats = self._store, self.stats
        assert store is not None
        groups: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        for received, message in batch:
            for cls, type_ in _CLASSES:
                if isinstance(message, cls):
                    groups.setdefault((type_, message.code), []).append((received, message))
                    break
        pipe = store.client.pipeline(transaction=False)
        queued: list[tuple[str, str, int]] = []
        for (type_, code), rows in groups.items():
            shard = self.keys.shard(code)
            token = self._tokens.get(shard)
            # No local deadline check here: Redis decides. A process paused past its lease
            # (SIGSTOP, a long GC, a frozen VM) still believes its token; the append script
            # refuses it ("fenced"), and the lease loop then stops the shard.
            if token is None:
                stats.dropped += len(rows)
                continue
            for at in range(0, len(rows), _MAX_CALL):
                chunk = rows[at : at + _MAX_CALL]
                if type_ == "trade":
                    store.queue_trades(pipe, code, token, [_trade_row(r, m) for r, m in chunk])
                else:
                    store.queue_plain(pipe, type_, code, token, [(encode(m), r) for r, m in chunk])
                queued.append((type_, token, len(chunk)))
        if not queued:
            return
        results = await store.execute(pipe)
        done = time.time_ns() // 1000
        stats.batches += 1
        for (type_, token, count), result in zip(queued, results, strict=True):
            if result == FENCED:
                stats.fenced += count
                self._fenced.add(token)
                self._poke.set()
                continue
            stats.written += int(result)
            if type_ == "trade":
                stats.duplicates += count - int(result)
        room = self._latency_samples - len(stats.latencies)
        if room > 0:
            stats.latencies.extend((done - r) / 1e6 for r, _ in batch[:room])


def _trade_row(received: int, trade: Trade[Any]) -> TradeRow:
    source = "rest" if isinstance(trade, RecoveredTrade) else ""
    return TradeRow(trade.sequential_id, trade.trade_timestamp, encode(trade), received, source)
