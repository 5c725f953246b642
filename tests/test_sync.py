"""The blocking facade (``upbitws.sync``) against the real simulator.

The facade runs the asyncio stream on a loop in a background thread, so each test drives it
from a worker thread (``asyncio.to_thread``) while this test's loop serves the simulator.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
import upbitws.sync
from simfactory import simulators
from upbitws import StreamClosedError, Ticker, Trade

if TYPE_CHECKING:
    from upbitws.simulator import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with simulators(markets=["KRW-BTC", "KRW-ETH"], trade_rate=5.0) as factory:
        yield await factory()


def _sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "upbitws-sync"]


def _until(stream: upbitws.sync.SyncStream, cls: type[Any], limit: int = 500) -> Any:
    for _, message in zip(range(limit), stream, strict=False):
        if isinstance(message, cls):
            return message
    raise AssertionError(f"no {cls.__name__} within {limit} messages")


async def test_subscribe_unsubscribe_and_stats_from_a_thread(sim: Simulator) -> None:
    def run() -> tuple[Trade[Any], Ticker[Any], int]:
        with upbitws.sync.connect(upbitws.trade("KRW-BTC"), url=sim.ws_url) as stream:
            trade = _until(stream, Trade)
            stream.subscribe(upbitws.ticker("KRW-ETH"))
            ticker = _until(stream, Ticker)
            stream.unsubscribe("ticker")
            return trade, ticker, stream.stats().messages_sent

    trade, ticker, sent = await asyncio.wait_for(asyncio.to_thread(run), 30)
    assert trade.code == "KRW-BTC"
    assert ticker.code == "KRW-ETH"
    assert sent >= 2  # the first request, then the whole set again with the ticker
    assert _sync_threads() == []  # closing joined the background thread


async def test_a_closed_stream_stops_iterating_and_refuses_changes(sim: Simulator) -> None:
    def run() -> None:
        stream = upbitws.sync.connect(upbitws.trade("KRW-BTC"), url=sim.ws_url)
        assert isinstance(next(stream), Trade)
        stream.close()
        stream.close()  # idempotent
        assert list(stream) == []
        with pytest.raises(StreamClosedError, match="closed"):
            stream.subscribe(upbitws.ticker("KRW-BTC"))
        with pytest.raises(StreamClosedError, match="closed"):
            stream.unsubscribe("trade")

    await asyncio.wait_for(asyncio.to_thread(run), 30)
    assert _sync_threads() == []


async def test_a_failed_start_leaves_no_thread_behind(sim: Simulator) -> None:
    stream = upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url)
    await stream.aclose()  # a closed stream cannot be started

    def run() -> None:
        with pytest.raises(StreamClosedError, match="started once"):
            upbitws.sync.SyncStream(stream)

    await asyncio.wait_for(asyncio.to_thread(run), 30)
    assert _sync_threads() == []
