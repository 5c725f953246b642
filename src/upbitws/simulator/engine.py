"""The exchange clock: drives every market's tape in real time and fans frames out (§4, §11).

One task (:meth:`Exchange.run`) pops the next due trade from a heap of per-market schedules,
stamps it with wall-clock time and a unique ``sequential_id`` (``trade_timestamp * 10000 + k``,
§11.2, bumped to stay strictly increasing), and publishes the trade and ticker frames at once.
Orderbooks go out on a 100 ms grid when the book changed (§4.4 cadence) and candles at most once
a second per (unit, code) when trades changed them (§4.5).

Each frame is encoded once per key style (DEFAULT or SIMPLE) with
``upbitws.protocol.codec.encode`` and the same bytes are queued to every subscriber.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from upbitws.models import StreamType
from upbitws.protocol.codec import encode
from upbitws.simulator.catalog import MarketSpec, supported_levels
from upbitws.simulator.frames import candle_frame, orderbook_frame, ticker_frame, trade_frame
from upbitws.simulator.requests import CANDLE_TYPES
from upbitws.simulator.tape import MarketSim, TapeTrade

__all__ = ["BOOK_INTERVAL", "Exchange", "Key", "Subscriber"]

Key = tuple[str, str]  # (type, code); code "*" for myOrder-all and myAsset
BOOK_INTERVAL = 0.1  # orderbook push grid, seconds (§4.4 "fixed 100 ms grid")
_CANDLE_UNITS = tuple(t.partition(".")[2] for t in sorted(CANDLE_TYPES))


class Subscriber(Protocol):
    """What the engine needs from a connection (implemented by ``session.Session``)."""

    @property
    def simple(self) -> bool:
        """True when the connection's format uses SIMPLE keys."""
        ...

    def push(self, data: bytes) -> None:
        """Queue one encoded data object."""

    def book_views(self, code: str) -> Sequence[tuple[int, Decimal]]:
        """The (depth, level) views this connection wants of ``code``'s orderbook."""
        ...


def _style(simple: bool) -> str:
    return "SIMPLE" if simple else "DEFAULT"


class Exchange:
    """All markets of one simulator, their schedules and their subscribers."""

    def __init__(
        self, specs: Iterable[MarketSpec], *, seed: int, trade_rate: float, history_size: int
    ) -> None:
        if trade_rate <= 0:
            raise ValueError(f"trade_rate must be > 0, got {trade_rate}")
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1, got {history_size}")
        self.markets: dict[str, MarketSim] = {
            s.code: MarketSim(s, seed, history_size) for s in specs
        }
        self.trade_rate = trade_rate
        self._subs: dict[Key, set[Subscriber]] = {}
        self._keys: dict[Subscriber, set[Key]] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._tie = itertools.count()
        self._last_sid = 0
        self._mono0 = 0.0
        self._wall0 = 0.0
        self._book_dirty: set[str] = set()
        self._candle_dirty: set[str] = set()
        self.trade_count = 0
        #: Called with every published trade (the account fills resting orders from it).
        self.trade_hooks: list[Callable[[str, TapeTrade], None]] = []

    # -- time ---------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Wall-clock milliseconds, never before the last trade published."""
        return max(int(time.time() * 1000), self._last_sid // 10000)

    def _wall_ms(self, mono: float) -> int:
        return int((self._wall0 + (mono - self._mono0)) * 1000)

    def _next_sid(self, timestamp: int) -> int:
        """``timestamp * 10000 + k`` (§11.2), strictly increasing so ids never repeat."""
        self._last_sid = max(timestamp * 10000, self._last_sid + 1)
        return self._last_sid

    # -- the clock ------------------------------------------------------------------------
    def start(self) -> None:
        """Anchor the clock and give every market its first trade (so snapshots exist)."""
        self._mono0 = asyncio.get_running_loop().time()
        self._wall0 = time.time()
        for code, sim in self.markets.items():
            self._trade(sim, self._mono0)
            due = self._mono0 + sim.next_interval(self.trade_rate)
            heapq.heappush(self._heap, (due, next(self._tie), code))

    async def run(self) -> None:
        """Publish trades as they fall due, books every 100 ms, candles every second."""
        loop = asyncio.get_running_loop()
        next_book = loop.time() + BOOK_INTERVAL
        wall = time.time()
        next_candle = loop.time() + (math.floor(wall) + 1 - wall)
        while True:
            now = loop.time()
            while self._heap and self._heap[0][0] <= now:
                due, _, code = heapq.heappop(self._heap)
                sim = self.markets[code]
                self._trade(sim, due)
                nxt = due + sim.next_interval(self.trade_rate)
                heapq.heappush(self._heap, (nxt, next(self._tie), code))
            if now >= next_book:
                self._flush_books()
                next_book = max(next_book + BOOK_INTERVAL, now)
            if now >= next_candle:
                self._flush_candles()
                next_candle = max(next_candle + 1.0, now)
            deadline = min(next_book, next_candle, self._heap[0][0] if self._heap else math.inf)
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _trade(self, sim: MarketSim, due: float) -> None:
        timestamp = max(self._wall_ms(due), self._last_sid // 10000)
        trade = sim.step(timestamp, self._next_sid(timestamp))
        self._published(sim, trade)

    def inject(self, code: str, price: Decimal, volume: Decimal, side: str) -> TapeTrade:
        """Publish a trade that is not on the tape (a simulated-account fill as taker)."""
        sim = self.markets[code]
        timestamp = self.now_ms()
        asks, bids = sim.levels("ASK", 1), sim.levels("BID", 1)
        zero = Decimal(0)
        ask = asks[0] if asks else (sim.ask, zero)
        bid = bids[0] if bids else (sim.bid, zero)
        trade = TapeTrade(
            sim.count, price, volume, side, timestamp, self._next_sid(timestamp), sim.prev_close,
            ask[0], ask[1], bid[0], bid[1],
        )  # fmt: skip
        sim.record(trade)
        self._published(sim, trade, hooks=False)  # an account fill never fills the account
        return trade

    def _published(self, sim: MarketSim, trade: TapeTrade, *, hooks: bool = True) -> None:
        self.trade_count += 1
        code = sim.code
        self._fan_out(("trade", code), lambda: trade_frame(code, trade, StreamType.REALTIME))
        self._fan_out(("ticker", code), lambda: ticker_frame(sim, StreamType.REALTIME))
        self._book_dirty.add(code)
        self._candle_dirty.add(code)
        if hooks:
            for hook in self.trade_hooks:
                hook(code, trade)

    def _flush_books(self) -> None:
        dirty, self._book_dirty = self._book_dirty, set()
        for code in dirty:
            subs = self._subs.get(("orderbook", code))
            if not subs:
                continue
            sim = self.markets[code]
            cache: dict[tuple[int, Decimal, bool], bytes] = {}
            for sub in tuple(subs):
                for depth, level in sub.book_views(code):
                    key = (depth, level, sub.simple)
                    data = cache.get(key)
                    if data is None:
                        frame = orderbook_frame(sim, depth, level, StreamType.REALTIME)
                        data = cache[key] = encode(frame, _style(sub.simple))
                    sub.push(data)

    def _flush_candles(self) -> None:
        dirty, self._candle_dirty = self._candle_dirty, set()
        for code in dirty:
            sim = self.markets[code]
            for unit in _CANDLE_UNITS:
                build = functools.partial(candle_frame, sim, unit, StreamType.REALTIME)
                self._fan_out((f"candle.{unit}", code), build)

    # -- subscribers ------------------------------------------------------------------------
    def subscribe(self, sub: Subscriber, keys: set[Key]) -> None:
        """Replace ``sub``'s realtime interest with ``keys`` (§3.5 replacement)."""
        self.unsubscribe(sub)
        self._keys[sub] = keys
        for key in keys:
            self._subs.setdefault(key, set()).add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        for key in self._keys.pop(sub, ()):
            subs = self._subs.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[key]

    def subscription_count(self) -> int:
        """(type, code) realtime subscriptions over all connections."""
        return sum(len(keys) for keys in self._keys.values())

    def _fan_out(self, key: Key, build: Callable[[], Any]) -> None:
        subs = self._subs.get(key)
        if not subs:
            return
        encoded: list[bytes | None] = [None, None]
        message: Any = None
        for sub in tuple(subs):
            index = 1 if sub.simple else 0
            data = encoded[index]
            if data is None:
                if message is None:
                    message = build()
                    if message is None:
                        return
                data = encoded[index] = encode(message, _style(sub.simple))
            sub.push(data)

    def publish_private(self, type_: str, code: str | None, message: Any) -> None:
        """Queue a myOrder / myAsset frame to the connections that asked for it."""
        self._fan_out((type_, "*"), lambda: message)
        if code is not None:
            self._fan_out((type_, code), lambda: message)

    # -- snapshots and checks ---------------------------------------------------------------
    def level_ok(self, code: str, level: Decimal) -> bool:
        """Whether ``level`` yields data for ``code`` (§3.4: KRW only, supported values;
        KR host: anything else sends nothing)."""
        if not level:
            return True
        sim = self.markets[code]
        return level in supported_levels(code, sim.bid)[1:]

    def snapshot(self, type_: str, code: str, depth: int, level: Decimal) -> Any:
        """The SNAPSHOT frame of (type, code) now, or ``None``."""
        sim = self.markets[code]
        snap = StreamType.SNAPSHOT
        if type_ == "trade":
            return trade_frame(code, sim.last, snap) if sim.last else None
        if type_ == "ticker":
            return ticker_frame(sim, snap)
        if type_ == "orderbook":
            return orderbook_frame(sim, depth, level, snap)
        if type_ in CANDLE_TYPES:
            return candle_frame(sim, type_.partition(".")[2], snap)
        return None
