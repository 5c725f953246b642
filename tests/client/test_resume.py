"""Resuming a trade tape in a new stream (a restarted recorder, a collector taking over a
market): every trade after the checkpoint arrives once, in order, the older ones never."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import upbitws
from upbitws import GapDetected, GapFilled, RecoveredTrade, Trade, TradeMark
from upbitws.simulator import Simulator

from .conftest import FAST


async def _trades(
    stream: upbitws.Stream, n: int, sink: list[object], *, after: type | None = None
) -> list[Trade[Any]]:
    """``n`` trades (counted once an ``after`` event was seen, if given)."""
    got: list[Trade[Any]] = []
    counting = after is None
    async with asyncio.timeout(20):
        async for item in stream:
            sink.append(item)
            if after is not None and isinstance(item, after):
                counting = True
            if isinstance(item, Trade):
                got.append(item)
                if counting:
                    n -= 1
                    if n <= 0:
                        return got
    raise AssertionError("stream ended")


async def test_a_resumed_tape_continues_after_the_checkpoint_with_nothing_missing() -> None:
    async with Simulator(seed=5, markets=["KRW-BTC"], trade_rate=20.0) as sim:
        first: list[object] = []
        async with upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as s1:
            before = await _trades(s1, 5, first)
        last = before[-1]
        await asyncio.sleep(1.5)  # trades happen while no stream runs: REST must bring them

        events: list[object] = []
        s2 = upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST)
        # Trades of the checkpoint's millisecond that were delivered too: REST rows of that
        # millisecond are only new if they are not among them.
        known = [t.sequential_id for t in before if t.trade_timestamp == last.trade_timestamp]
        mark = TradeMark(last.sequential_id, last.trade_timestamp)
        s2.resume_trades("KRW-BTC", mark, known=known)
        async with s2:
            after = await _trades(s2, 5, events, after=GapFilled)
        tape = [t.sequential_id for t in sim.trades("KRW-BTC")]

    ids = [t.sequential_id for t in after]
    start = tape.index(last.sequential_id) + 1
    assert ids == tape[start : start + len(ids)]  # contiguous: none missing, none twice
    recovered = [t for t in after if isinstance(t, RecoveredTrade)]
    assert len(recovered) >= 10  # 1.5 s of trades came from REST
    gaps = [e for e in events if isinstance(e, GapDetected)]
    assert [(g.cause, g.since) for g in gaps] == [("resume", last.trade_timestamp)]
    filled = [e for e in events if isinstance(e, GapFilled)]
    assert len(filled) == 1
    assert filled[0].recovered == len(recovered)
    assert all(isinstance(t, RecoveredTrade) for t in after[: len(recovered)])


async def test_resume_is_refused_without_backfill_or_for_a_code_already_delivering() -> None:
    async with Simulator(seed=5, markets=["KRW-BTC"], trade_rate=20.0) as sim:
        mark = TradeMark(1, 1)
        off = upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, backfill=False)
        with pytest.raises(upbitws.ConfigurationError, match="backfill"):
            off.resume_trades("KRW-BTC", mark)
        async with upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as s:
            await _trades(s, 1, [])
            with pytest.raises(upbitws.ConfigurationError, match="KRW-BTC"):
                s.resume_trades("KRW-BTC", mark)
