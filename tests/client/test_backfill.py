"""Nothing lost: trade backfill and dedupe across faults, against the simulator.

The chaos test runs busy markets through a schedule of faults (abrupt drops, half-open
sockets, accept-then-close, HTTP 429 with Retry-After, a consumer stall that overflows a
small trade queue) and then compares what the consumer got with the simulator's own tape
for the same window: every trade, once, in time order per code.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import upbitws
from upbitws import BackoffPolicy, GapDetected, GapFilled, GapUnrecoverable, Trade
from upbitws.models.recovered import RecoveredTrade
from upbitws.simulator import Simulator

from .conftest import eventually

MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"]
FAST: dict[str, Any] = {
    "ping_interval": 0.3,
    "pong_timeout": 0.6,
    "backoff": BackoffPolicy(initial=0.05, maximum=0.5, stable_after=1.0),
    "include_events": True,
}


@dataclass
class Consumer:
    """Iterates a stream into per-code trade lists and an event list; can be stalled."""

    trades: dict[str, list[Trade[Any]]] = field(default_factory=dict)
    events: list[object] = field(default_factory=list)
    stall_for: float = 0.0

    async def run(self, stream: upbitws.Stream) -> None:
        async for item in stream:
            if isinstance(item, Trade):
                self.trades.setdefault(item.code, []).append(item)
            else:
                self.events.append(item)
            if self.stall_for:
                pause, self.stall_for = self.stall_for, 0.0
                await asyncio.sleep(pause)  # the reader keeps reading; the queue fills

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class TapeCheck:
    received: int
    expected: int
    missing: int
    duplicates: int
    extra: int
    recovered: int
    ordered: bool


def check_tape(sim: Simulator, code: str, got: list[Trade[Any]]) -> TapeCheck:
    """Compare with the simulator's tape from the first to the last trade received."""
    ids = [t.sequential_id for t in sim.trades(code)]
    mine = [t.sequential_id for t in got]
    first, last = ids.index(mine[0]), ids.index(mine[-1])
    expected = set(ids[first : last + 1])
    return TapeCheck(
        received=len(mine),
        expected=len(expected),
        missing=len(expected - set(mine)),
        duplicates=len(mine) - len(set(mine)),
        extra=len(set(mine) - expected),
        recovered=sum(isinstance(t, RecoveredTrade) for t in got),
        ordered=all(a.trade_timestamp <= b.trade_timestamp for a, b in itertools.pairwise(got)),
    )


def filled_by_cause(events: list[object]) -> dict[str, list[int]]:
    """Recovered counts of the filled gaps, by the cause their GapDetected gave."""
    cause: dict[str, str] = {}
    out: dict[str, list[int]] = {"overflow": [], "reconnect": []}
    for event in events:
        if isinstance(event, GapDetected):
            cause[event.code] = event.cause
        elif isinstance(event, GapFilled):
            out[cause[event.code]].append(event.recovered)
    return out


async def settle(stream: upbitws.Stream, *, within: float = 15.0) -> None:
    """Wait until every opened gap was filled or declared unrecoverable, and the queue empty."""
    async with asyncio.timeout(within):
        while True:
            s = stream.stats()
            if s.gaps_opened == s.gaps_filled + s.gaps_unrecoverable and s.queue_depth == 0:
                return
            await asyncio.sleep(0.05)


Fault = Callable[[Simulator, Consumer], Awaitable[None]]


async def drop(sim: Simulator, _c: Consumer) -> None:
    sim.apply_fault("drop")


async def half_open(sim: Simulator, _c: Consumer) -> None:
    sim.apply_fault("half_open")  # found by the pong timeout


async def accept_then_close(sim: Simulator, _c: Consumer) -> None:
    sim.apply_fault("close_after", count=0, target="next", next_n=2)
    sim.apply_fault("drop")


async def reject_429(sim: Simulator, _c: Consumer) -> None:
    sim.apply_fault("reject_upgrade", status=429, retry_after=1, target="next")
    sim.apply_fault("drop")


async def stall(_sim: Simulator, consumer: Consumer) -> None:
    consumer.stall_for = 2.0


async def close_1011(sim: Simulator, _c: Consumer) -> None:
    sim.apply_fault("close", code=1011)


SCHEDULE: list[Fault] = [
    drop,
    half_open,
    accept_then_close,
    stall,
    reject_429,
    drop,
    close_1011,
    half_open,
    stall,
    drop,
    accept_then_close,
    drop,
]


async def test_chaos_every_trade_once_in_order_for_every_market() -> None:
    assert len(SCHEDULE) >= 10
    async with Simulator(seed=11, markets=MARKETS, trade_rate=1.5) as sim:
        consumer = Consumer()
        stream = upbitws.connect(
            [upbitws.trade(*MARKETS)],
            url=sim.ws_url,
            queue_size=150,  # a 2 s stall overflows it
            backfill_hold=60,  # ... and the held trades too: REST must fill the rest
            **FAST,
        )
        async with stream, asyncio.TaskGroup() as tg:
            reader = tg.create_task(consumer.run(stream))
            await asyncio.sleep(1.0)
            for fault in SCHEDULE:
                await fault(sim, consumer)
                await asyncio.sleep(1.3)
            await settle(stream)
            await asyncio.sleep(0.3)  # a last stretch of live trades after the last gap
            await settle(stream)
            stats = stream.stats()
            reader.cancel()
        sim_stats = sim.stats()

    assert sim_stats["rejected_upgrades"] >= 1  # the 429s were met
    assert stats.reconnections >= 9
    assert stats.gaps_unrecoverable == 0, consumer.of(GapUnrecoverable)
    assert stats.gaps_filled == stats.gaps_opened
    overflow = [g for g in consumer.of(GapDetected) if g.cause == "overflow"]
    assert overflow, "the stalls overflowed the trade queue"
    assert stats.trades_recovered > 0
    assert stats.trades_recovered == sum(g.recovered for g in consumer.of(GapFilled))
    filled = filled_by_cause(consumer.events)
    assert sum(filled["overflow"]) > 0, "a stall outgrew the hold: REST filled the rest"
    assert sum(filled["reconnect"]) > 0
    for code in MARKETS:
        check = check_tape(sim, code, consumer.trades[code])
        assert check.missing == 0, (code, check)
        assert check.duplicates == 0, (code, check)
        assert check.extra == 0, (code, check)
        assert check.ordered, (code, check)
    total = sum(check_tape(sim, c, consumer.trades[c]).recovered for c in MARKETS)
    assert total == stats.trades_recovered


async def test_other_types_are_announced_as_healed_by_the_next_snapshot() -> None:
    async with Simulator(seed=2, markets=["KRW-BTC"], trade_rate=2.0) as sim:
        consumer = Consumer()
        subs = [
            upbitws.trade("KRW-BTC"),
            upbitws.ticker("KRW-BTC"),
            upbitws.orderbook("KRW-BTC"),
            upbitws.candle("1s", "KRW-BTC"),
        ]
        async with (
            upbitws.connect(subs, url=sim.ws_url, **FAST) as stream,
            asyncio.TaskGroup() as tg,
        ):
            reader = tg.create_task(consumer.run(stream))
            state = stream.state
            await eventually(
                lambda: (
                    state.ticker("KRW-BTC") is not None
                    and state.candle("1s", "KRW-BTC") is not None
                    and bool(state.trades("KRW-BTC"))
                ),
                timeout=10,
            )
            book = state.orderbook("KRW-BTC")
            assert book is not None
            assert book.asks
            sim.apply_fault("drop")
            await eventually(lambda: bool(consumer.of(upbitws.Reconnected)), timeout=10)
            await settle(stream)
            reader.cancel()
    detected = {(g.type, g.cause) for g in consumer.of(GapDetected)}
    assert detected == {
        ("trade", "reconnect"),
        ("ticker", "reconnect"),
        ("orderbook", "reconnect"),
        ("candle.1s", "reconnect"),
    }
    healed = {g.type: g.reason for g in consumer.of(GapUnrecoverable)}
    assert set(healed) == {"ticker", "orderbook", "candle.1s"}
    assert all("SNAPSHOT" in reason for reason in healed.values())
    assert [g.type for g in consumer.of(GapFilled)] == ["trade"]
    check = check_tape(sim, "KRW-BTC", consumer.trades["KRW-BTC"])
    assert check.missing == check.duplicates == 0


async def test_backfill_off_announces_the_trade_gap_as_unrecoverable() -> None:
    async with Simulator(seed=3, markets=["KRW-BTC"], trade_rate=2.0) as sim:
        consumer = Consumer()
        async with (
            upbitws.connect(
                [upbitws.trade("KRW-BTC")], url=sim.ws_url, backfill=False, **FAST
            ) as stream,
            asyncio.TaskGroup() as tg,
        ):
            reader = tg.create_task(consumer.run(stream))
            await eventually(lambda: bool(consumer.trades.get("KRW-BTC")))  # connected, flowing
            sim.apply_fault("drop")
            await eventually(lambda: bool(consumer.of(upbitws.Reconnected)))
            await settle(stream)
            reader.cancel()
    (gap,) = consumer.of(GapUnrecoverable)
    assert gap.type == "trade"
    assert "backfill is off" in gap.reason
    assert stream.stats().trades_recovered == 0
    got = [t.sequential_id for t in consumer.trades["KRW-BTC"]]
    assert len(got) == len(set(got))  # still de-duplicated (the snapshot replay)


async def test_rest_that_cannot_reach_back_far_enough() -> None:
    """REST keeps 40 trades: a 1 s outage of a ~60 trades/s market cannot be filled."""
    async with Simulator(seed=4, markets=["KRW-BTC"], trade_rate=2.0, history_size=40) as sim:
        consumer = Consumer()
        async with (
            upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
            asyncio.TaskGroup() as tg,
        ):
            reader = tg.create_task(consumer.run(stream))
            await asyncio.sleep(0.6)
            await reject_429(sim, consumer)  # Retry-After 1 s: ~60 trades pass meanwhile
            await asyncio.sleep(2.0)
            await settle(stream)
            live_after = len(consumer.trades["KRW-BTC"])
            await asyncio.sleep(0.3)
            assert len(consumer.trades["KRW-BTC"]) > live_after  # live trades flow again
            reader.cancel()
    (gap,) = consumer.of(GapUnrecoverable)
    assert gap.type == "trade"
    assert "REST cannot reach back far enough" in gap.reason
    got = [t.sequential_id for t in consumer.trades["KRW-BTC"]]
    assert len(got) == len(set(got))


async def test_rest_refusing_the_request_makes_the_gap_unrecoverable_at_once() -> None:
    async with Simulator(seed=5, markets=["KRW-ETH"], trade_rate=2.0) as sim:
        consumer = Consumer()
        async with (
            upbitws.connect(
                [upbitws.trade("KRW-ETH")], url=sim.ws_url, rest_url=sim.url + "/nope", **FAST
            ) as stream,
            asyncio.TaskGroup() as tg,
        ):
            reader = tg.create_task(consumer.run(stream))
            await asyncio.sleep(0.6)
            sim.apply_fault("drop")
            await asyncio.sleep(0.5)
            await settle(stream, within=5.0)
            reader.cancel()
    (gap,) = consumer.of(GapUnrecoverable)
    assert "REST failed" in gap.reason
    assert "HTTP 404" in gap.reason


@pytest.mark.parametrize("numbers", ["decimal", "float"])
async def test_recovered_trades_use_the_stream_number_type(numbers: str) -> None:
    async with Simulator(seed=6, markets=["KRW-XRP"], trade_rate=3.0) as sim:
        consumer = Consumer()
        async with (
            upbitws.connect(
                [upbitws.trade("KRW-XRP")], url=sim.ws_url, numbers=numbers, **FAST
            ) as stream,
            asyncio.TaskGroup() as tg,
        ):
            reader = tg.create_task(consumer.run(stream))
            await asyncio.sleep(0.5)
            await reject_429(sim, consumer)
            await asyncio.sleep(1.8)
            await settle(stream)
            reader.cancel()
    recovered = [t for t in consumer.trades["KRW-XRP"] if isinstance(t, RecoveredTrade)]
    assert recovered
    live = next(t for t in consumer.trades["KRW-XRP"] if not isinstance(t, RecoveredTrade))
    assert type(recovered[0].trade_price) is type(live.trade_price)
