"""Nothing lost: trade de-duplication, gaps and their REST backfill.

Every trade the public connection decodes passes :meth:`TradeRecovery.on_trade` (the
reader's hot path) on its way to the consumer's buffer:

* **Dedupe.** A trade whose ``(code, sequential_id)`` was delivered already (a snapshot
  replay, a stale frame after a replacement, a backfill overlap) is dropped and counted in
  ``duplicates_suppressed`` (:mod:`upbitws.protocol.dedupe`).
* **Gaps.** A gap of a code opens when the connection drops ("reconnect") or when its
  trade cannot be queued because the consumer's queue is full ("overflow"). From then on
  that code's live trades are *held* (a bounded deque, ``backfill_hold`` per code) instead
  of queued, and a worker closes the gap:

  1. it waits until the connection is back (and the consumer's queue at most half full),
     and briefly for the first live trade (the SNAPSHOT, 170–350 ms after subscribing);
  2. it pages ``/v1/trades/ticks`` back from that first live trade (or from now) to the last
     trade delivered before the gap (:mod:`upbitws.protocol.backfill`), through the
     stream's :class:`~upbitws.client.rest.RestClient` (10 req/s, codes in turn);
  3. if the held trades lost some meanwhile (the hold overflowed, or another drop), the
     gap extends: another round re-reads from the newest time the last round covered;
  4. in one synchronous step it queues the recovered trades (:class:`RecoveredTrade`,
     ordered by ``(trade_timestamp, sequential_id)``), then :class:`GapFilled`, then the
     held trades, and lets live trades flow again. On failure (REST cannot reach back far
     enough, REST errors, the live stream outruns the backfill) it queues what it has and
     :class:`GapUnrecoverable` instead.

  An overflow gap whose held trades never overflowed lost nothing: it is filled with 0
  recovered trades and no REST request.
* **Skipped frames.** A frame that failed to decode or to be handled
  (client/frames.py) opens a trade gap (cause ``"decode"`` / ``"frame"``) for its code like
  a drop does, so the trade it carried is fetched back; other types are announced.
* **Other types.** On a drop, ticker / orderbook / candle gaps are announced and at once
  declared unrecoverable: they have no history, and the SNAPSHOT sent after reconnecting
  heals the state (protocol §11.1). Private types have no backfill.

Order is per code: other codes keep flowing while one code's gap is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from upbitws.client.events import GapDetected, GapFilled, GapUnrecoverable
from upbitws.client.rest import RestClient, rest_base_url
from upbitws.client.state import MarketState
from upbitws.client.stats import StreamCounters
from upbitws.exceptions import ConfigurationError, UpbitWSError
from upbitws.models import RecoveredTrade, Trade
from upbitws.protocol.backfill import BackfillPlanner, TradeMark, merge_recovered
from upbitws.protocol.dedupe import TradeDeduper

if TYPE_CHECKING:
    import aiohttp

    from upbitws.client.buffer import MessageBuffer
    from upbitws.client.options import StreamOptions
    from upbitws.client.state import MarketState
    from upbitws.client.stats import StreamCounters

__all__ = ["TradeRecovery"]

log = logging.getLogger("upbitws.backfill")

TRADE: Final = "trade"
#: How long a worker waits for the first live trade after (re)connecting, to page from it.
FIRST_LIVE_WAIT: Final = 1.0
#: Re-read this much before a gap's start: a trade delivered out of time order is caught.
SLACK_MS: Final = 1_000
#: Rounds of one gap whose held trades may overflow before the live stream is judged to
#: outrun the backfill.
MAX_ROUNDS: Final = 5
_POLL: Final = 0.05  # seconds between checks of the consumer's queue
_SNAPSHOT_HEALS: Final = (
    "{type} has no history to fetch; the next SNAPSHOT after reconnecting heals the state"
)
_PRIVATE: Final = "{type} is private: no backfill; Upbit's REST API has the current state"
_NEXT_HEALS: Final = "{type} has no history to fetch; its next message carries the current state"
_UNKNOWN: Final = "unknown"  # client/frames.py UNKNOWN: the skipped frame's type was unreadable
_UNREADABLE: Final = (
    "the skipped frame's type or code could not be read, so what it carried cannot be fetched"
)


class _Gap:
    """One code's open trade gap."""

    __slots__ = (
        "anchor",
        "broken",
        "cause",
        "code",
        "evicted",
        "first_held",
        "held",
        "intact",
        "opened",
        "since",
    )

    def __init__(
        self, code: str, cause: str, since: int, anchor: int | None, hold: int, intact: bool
    ) -> None:
        self.code = code
        self.cause = cause
        self.since = since  # trade_timestamp of the last delivered trade (or a fallback)
        self.anchor = anchor  # its sequential_id
        self.held: deque[Trade[Any]] = deque(maxlen=hold)
        self.intact = intact  # held holds every trade since the gap opened
        self.broken = False  # held lost trades during the current round
        self.evicted = False  # ... because the hold overflowed (not because of a drop)
        self.first_held = asyncio.Event()
        self.opened = time.monotonic()

    def hold(self, trade: Trade[Any]) -> None:
        held = self.held
        if len(held) == held.maxlen:
            self.broken = self.evicted = True  # the oldest falls out: REST must cover it
            self.intact = False
        held.append(trade)
        self.first_held.set()

    def interrupted(self) -> None:
        """The connection dropped: what is held is followed by a hole, so let REST bring it
        (nothing held was delivered or recorded)."""
        self.held.clear()
        self.broken = True
        self.intact = False


class TradeRecovery:
    """De-duplicates the trade tape and closes its gaps (see the module docstring)."""

    def __init__(
        self,
        *,
        options: StreamOptions,
        buffer: MessageBuffer,
        counters: StreamCounters,
        state: MarketState,
    ) -> None:
        self._options = options
        self._backfill = options.backfill
        self._buffer = buffer
        self._counters = counters
        self._state = state
        self._dedupe = TradeDeduper()
        self._last: dict[str, Trade[Any]] = {}  # the last trade delivered per code
        # Per subscribed trade code: when its subscription began (epoch ms) and the time of
        # the first trade delivered since (its SNAPSHOT). Trades before that are not ours.
        self._codes: frozenset[str] = frozenset()
        self._subscribed_ms: dict[str, int] = {}
        self._origin: dict[str, int] = {}
        self._gaps: dict[str, _Gap] = {}
        self._new: deque[_Gap] = deque()
        self._wake = asyncio.Event()
        self._up = False
        self._up_at = 0.0
        self._up_event = asyncio.Event()
        self.rest: RestClient | None = None

    # -- the reader's side (synchronous, no awaits) -----------------------------------------

    def on_trade(self, trade: Trade[Any]) -> None:
        """Hot path: one decoded trade → dedupe → the buffer, or held while its code has a gap."""
        code = trade.code
        gap = self._gaps.get(code)
        if gap is not None:
            gap.hold(trade)
            return
        buffer = self._buffer
        if buffer.queued >= buffer.queue_size:
            if self._backfill:
                self._open(code, "overflow", None, intact=True).hold(trade)
            else:
                buffer.put(trade)  # the buffer drops it and announces the gap
            return
        if self._dedupe.seen(code, trade.sequential_id):
            self._counters.duplicates_suppressed += 1
            return
        buffer.put_unbounded(trade)  # the bound was checked above; trades never conflate
        last = self._last
        if code not in last:
            self._origin[code] = trade.trade_timestamp
        last[code] = trade
        self._state.add_trade(trade)

    def subscription_sent(self, endpoint: str, keys: Iterable[tuple[str, str]]) -> None:
        """A subscription request for ``keys`` went out on ``endpoint``'s connection.

        A trade code new to the set starts afresh: its gaps reach back to this moment, not
        to trades from before it was (re)subscribed."""
        if endpoint != "public":
            return
        codes = frozenset(code for type_, code in keys if type_ == TRADE)
        now_ms = int(time.time() * 1000)
        for code in codes - self._codes:
            self._subscribed_ms[code] = now_ms
            self._last.pop(code, None)
            self._origin.pop(code, None)
        for code in self._codes - codes:
            self._subscribed_ms.pop(code, None)
            self._last.pop(code, None)
            self._origin.pop(code, None)
        self._codes = codes

    def connection_ready(self, endpoint: str, keys: Iterable[tuple[str, str]]) -> None:
        """The connection to ``endpoint`` is open and its subscription sent."""
        if endpoint != "public":
            return
        self.subscription_sent(endpoint, keys)
        self._up = True
        self._up_at = time.monotonic()
        self._up_event.set()

    def connection_lost(self, endpoint: str, keys: Iterable[tuple[str, str]], at: float) -> None:
        """The connection to ``endpoint`` dropped at ``at`` (epoch s); ``keys`` were subscribed."""
        if endpoint == "public":
            self._up = False
            self._up_event.clear()
        at_ms = int(at * 1000)
        counters, put_event = self._counters, self._buffer.put_event
        for type_, code in sorted(keys):
            if type_ == TRADE and self._backfill:
                self._open(code, "reconnect", at_ms, intact=False)
                continue
            last = self._last.get(code) if type_ == TRADE else None
            since = last.trade_timestamp if last is not None else at_ms
            counters.gaps_opened += 1
            counters.gap(type_, "detected")
            put_event(GapDetected(type_, code, "reconnect", since))
            outcome = "unrecoverable"
            if type_ == TRADE:
                reason = "backfill is off (StreamOptions.backfill=False)"
            elif endpoint == "public":
                reason = _SNAPSHOT_HEALS.format(type=type_)
                counters.gaps_healed += 1  # a subset of the unrecoverable: nothing to miss
                outcome = "healed"  # the next SNAPSHOT replaces the state (metrics' outcome)
            else:
                reason = _PRIVATE.format(type=type_)
            counters.gaps_unrecoverable += 1
            counters.gap(type_, outcome)
            put_event(GapUnrecoverable(type_, code, reason))

    def resume(self, code: str, after: TradeMark, known: Iterable[int] = ()) -> None:
        """Continue a tape that a previous run delivered up to ``after`` (a restarted recorder,
        a collector taking over a market): ``code``'s live trades are held while REST fills
        everything after ``after``, as after a reconnect.

        ``known`` are further ids already delivered at or after ``after``'s time (trades of
        the same millisecond): they, and ``after`` itself, are never delivered again.
        """
        if not self._backfill:
            raise ConfigurationError("resuming a trade tape needs backfill=True")
        if code in self._last or code in self._gaps:
            raise ConfigurationError(
                f"{code} trades are already being delivered: resume a code before subscribing it"
            )
        for sid in (after.sequential_id, *known):
            self._dedupe.seen(code, sid)
        gap = self._gaps[code] = _Gap(
            code,
            "resume",
            after.trade_timestamp,
            after.sequential_id,
            self._options.backfill_hold,
            intact=False,
        )
        self._counters.gaps_opened += 1
        self._counters.gap(TRADE, "detected")
        self._buffer.put_event(GapDetected(TRADE, code, "resume", after.trade_timestamp))
        self._new.append(gap)
        self._wake.set()

    def backfills(self, type_: str, code: str) -> bool:
        """Whether a lost message of ``(type_, code)`` is fetched back (a subscribed trade
        code, backfill on)."""
        return type_ == TRADE and self._backfill and code in self._codes

    def frame_skipped(self, endpoint: str, type_: str, code: str, cause: str, at: float) -> None:
        """A frame of ``(type_, code)`` was skipped at ``at`` (epoch s): it failed to decode
        (``cause="decode"``) or its handling raised (``"frame"``). A trade gap starts a
        backfill like any gap; other types are announced, at once unrecoverable."""
        if self.backfills(type_, code):
            self._open(code, cause, int(at * 1000), intact=False)
            return
        counters, put_event = self._counters, self._buffer.put_event
        counters.gaps_opened += 1
        counters.gap(type_, "detected")
        put_event(GapDetected(type_, code, cause, int(at * 1000)))
        outcome = "unrecoverable"
        if type_ == TRADE and not self._backfill:
            reason = "backfill is off (StreamOptions.backfill=False)"
        elif _UNKNOWN in (type_, code):
            reason = _UNREADABLE
        elif type_ == TRADE:  # pragma: no cover - the reader drops unsubscribed codes first
            reason = f"{code} is not a subscribed trade code"
        elif endpoint == "public":
            reason = _NEXT_HEALS.format(type=type_)
            counters.gaps_healed += 1  # a subset of the unrecoverable: nothing to miss
            outcome = "healed"
        else:
            reason = _PRIVATE.format(type=type_)
        counters.gaps_unrecoverable += 1
        counters.gap(type_, outcome)
        put_event(GapUnrecoverable(type_, code, reason))

    def _open(self, code: str, cause: str, fallback_ms: int | None, *, intact: bool) -> _Gap:
        gap = self._gaps.get(code)
        if gap is not None:  # already closing this code's gap: it extends
            if cause != "overflow":  # a drop or a skipped frame: a hole among the held trades
                gap.interrupted()
            return gap
        last = self._last.get(code)
        if last is not None:
            since, anchor = last.trade_timestamp, last.sequential_id
        else:
            now_ms = int(time.time() * 1000)
            since, anchor = self._subscribed_ms.get(code, fallback_ms or now_ms), None
        gap = self._gaps[code] = _Gap(
            code, cause, since, anchor, self._options.backfill_hold, intact
        )
        self._counters.gaps_opened += 1
        self._counters.gap(TRADE, "detected")
        self._buffer.put_event(GapDetected(TRADE, code, cause, since))
        self._new.append(gap)
        self._wake.set()
        return gap

    # -- the workers --------------------------------------------------------------------------

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Close gaps as they open, until cancelled; owns the REST client and the workers."""
        options = self._options
        base = options.rest_url or rest_base_url(options.public_endpoint)
        self.rest = RestClient(session, base, numbers=options.numbers)
        async with asyncio.TaskGroup() as group:
            group.create_task(self.rest.run(), name="upbitws-rest")
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._new:
                    gap = self._new.popleft()
                    group.create_task(self._close_gap(gap), name=f"upbitws-gap-{gap.code}")

    async def _close_gap(self, gap: _Gap) -> None:
        planners: list[BackfillPlanner[Trade[Any]]] = []
        since, anchor = gap.since, gap.anchor
        # Re-read SLACK_MS before the gap, but never before this code's first trade: older
        # trades predate the subscription (its SNAPSHOT is only the latest of them).
        origin = self._origin.get(gap.code)
        slack = 0 if origin is None else min(SLACK_MS, since - origin)
        reason: str | None = None
        outrun = 0  # rounds whose held trades overflowed (drops extend a gap without limit)
        while True:
            await self._ready(gap)
            if gap.intact:
                break  # an overflow the hold absorbed: nothing was lost
            gap.broken = gap.evicted = False
            first = gap.held[0] if gap.held else None
            planner = BackfillPlanner[Trade[Any]](
                gap.code,
                since,
                anchor=anchor,
                first_live=TradeMark(first.sequential_id, first.trade_timestamp) if first else None,
                max_pages=self._options.backfill_max_pages,
                slack_ms=max(slack, 0),
            )
            planners.append(planner)
            try:
                await self._fetch(planner)
            except UpbitWSError as exc:
                reason = f"REST failed: {exc}"
                break
            if not planner.complete:
                reason = planner.reason
                break
            if not gap.broken:
                break
            outrun += gap.evicted
            if outrun >= MAX_ROUNDS:
                reason = (
                    f"the live stream outran the backfill {MAX_ROUNDS} times "
                    f"(more than backfill_hold={self._options.backfill_hold} trades held)"
                )
                break
            since = planner.top if planner.top is not None else since  # the gap extends
            anchor, slack = None, SLACK_MS
        self._finish(gap, planners, reason)

    async def _ready(self, gap: _Gap) -> None:
        """Wait for the connection, room in the consumer's queue, and the first live trade."""
        buffer = self._buffer
        while True:
            if not self._up:
                await self._up_event.wait()
                continue
            if buffer.queued > buffer.queue_size // 2:
                await asyncio.sleep(_POLL)  # the consumer is behind: fetching now would only
                continue  # grow memory while the live edge moves on
            # Wait for a first live trade from when the connection came up or, for a code
            # resumed on a running connection, from when its gap opened: its subscription may
            # not be sent yet, and a REST read before it goes out would end the gap too soon.
            start = max(self._up_at, gap.opened)
            remaining = start + FIRST_LIVE_WAIT - time.monotonic()
            if not gap.held and remaining > 0:
                gap.first_held.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await gap.first_held.wait()
                continue
            return

    async def _fetch(self, planner: BackfillPlanner[Trade[Any]]) -> None:
        rest = self.rest
        assert rest is not None
        while (request := planner.next_request()) is not None:
            planner.add_page(await rest.trades(request))

    def _finish(
        self, gap: _Gap, planners: list[BackfillPlanner[Trade[Any]]], reason: str | None
    ) -> None:
        """Deliver recovered and held trades in one step, and let live trades flow again.

        Recovered trades all precede the held ones, except when a round paged from "now":
        REST may then return trades the socket had not delivered yet. Merging by time keeps
        the tape ordered; the event follows the last recovered trade."""
        code = gap.code
        del self._gaps[code]
        counters, buffer, dedupe, state = self._counters, self._buffer, self._dedupe, self._state
        recovered, duplicates = merge_recovered(
            code, planners, dedupe, live={t.sequential_id for t in gap.held}
        )
        held = []
        for trade in gap.held:
            if dedupe.seen(code, trade.sequential_id):
                duplicates += 1
            else:
                held.append(trade)
        counters.duplicates_suppressed += duplicates
        counters.trades_recovered += len(recovered)
        if reason is None:
            counters.gaps_filled += 1
            counters.gap(TRADE, "filled")
            event: object = GapFilled(TRADE, code, len(recovered))
            log.info("trade gap of %s filled: %d recovered", code, len(recovered))
        else:
            counters.gaps_unrecoverable += 1
            counters.gap(TRADE, "unrecoverable")
            event = GapUnrecoverable(TRADE, code, reason)
            log.warning(
                "trade gap of %s not filled (%d recovered): %s", code, len(recovered), reason
            )
        tape = list(heapq.merge(recovered, held, key=_trade_time))
        announce_after = max(
            (i for i, t in enumerate(tape) if isinstance(t, RecoveredTrade)), default=-1
        )
        if announce_after < 0:
            buffer.put_event(event)
        for i, trade in enumerate(tape):
            buffer.put_unbounded(trade)
            state.add_trade(trade)
            if i == announce_after:
                buffer.put_event(event)
        if tape:
            if code not in self._last:
                self._origin[code] = tape[0].trade_timestamp
            self._last[code] = tape[-1]


def _trade_time(trade: Trade[Any]) -> int:
    return trade.trade_timestamp
