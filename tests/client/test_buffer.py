"""The consumer buffer: conflation, bounded queues with announced gaps, ordering, close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from upbitws import decode
from upbitws.client.buffer import MessageBuffer
from upbitws.client.events import Connected, GapDetected
from upbitws.exceptions import AuthenticationError
from upbitws.models import Ticker, Trade

DATA = Path(__file__).parent.parent / "data"


def _one(name: str) -> object:
    return decode((DATA / name).read_bytes())[0]


TICKER = _one("ticker_default.json")
TRADE = _one("trade_default.json")
ORDERBOOK = _one("orderbook_default.json")


def _ticker(code: str, price: int) -> Ticker:
    assert isinstance(TICKER, Ticker)
    import msgspec

    return msgspec.structs.replace(TICKER, code=code, trade_price=price)


def _trade(sid: int) -> Trade:
    assert isinstance(TRADE, Trade)
    import msgspec

    return msgspec.structs.replace(TRADE, sequential_id=sid)


def drain(buffer: MessageBuffer) -> list[object]:
    out = []
    while True:
        try:
            out.append(buffer.get_nowait())
        except IndexError:
            return out


def test_a_consumer_that_keeps_up_sees_every_ticker() -> None:
    buffer = MessageBuffer()
    seen = []
    for price in range(5):
        buffer.put(_ticker("KRW-BTC", price))
        seen.extend(drain(buffer))
    assert [m.trade_price for m in seen] == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]
    assert buffer.conflated == {}


def test_a_lagging_consumer_gets_the_latest_ticker_per_code_in_first_arrival_order() -> None:
    buffer = MessageBuffer()
    buffer.put(_ticker("KRW-BTC", 1))
    buffer.put(_ticker("KRW-ETH", 10))
    buffer.put(_ticker("KRW-BTC", 2))
    buffer.put(_ticker("KRW-BTC", 3))
    out = drain(buffer)
    assert [(m.code, m.trade_price) for m in out] == [("KRW-BTC", 3), ("KRW-ETH", 10)]  # type: ignore[attr-defined]
    assert buffer.conflated == {"ticker": 2}


def test_trades_are_never_conflated_and_overflow_is_announced_once_as_a_gap() -> None:
    buffer = MessageBuffer(queue_size=3)
    for sid in range(6):
        buffer.put(_trade(sid))
    out = drain(buffer)
    trades = [m for m in out if isinstance(m, Trade)]
    gaps = [m for m in out if isinstance(m, GapDetected)]
    assert [t.sequential_id for t in trades] == [0, 1, 2]
    assert len(gaps) == 1
    assert gaps[0].cause == "overflow"
    assert gaps[0].code == "KRW-BTC"
    assert buffer.dropped == {"trade": 3}
    # Once drained, a new overflow opens a new gap.
    for sid in range(10, 15):
        buffer.put(_trade(sid))
    assert sum(isinstance(m, GapDetected) for m in drain(buffer)) == 1


def test_conflate_false_queues_everything() -> None:
    buffer = MessageBuffer(queue_size=10, conflate=False)
    for price in range(3):
        buffer.put(_ticker("KRW-BTC", price))
    assert [m.trade_price for m in drain(buffer)] == [0, 1, 2]  # type: ignore[attr-defined]


def test_events_keep_their_place_between_messages() -> None:
    buffer = MessageBuffer()
    buffer.put(_trade(1))
    event = Connected("public", "ws://x", 0.0, 0)
    buffer.put_event(event)
    buffer.put(_trade(2))
    out = drain(buffer)
    assert out[1] is event
    assert [getattr(m, "sequential_id", None) for m in out] == [1, None, 2]


async def test_get_waits_then_close_drains_before_raising_the_error() -> None:
    buffer = MessageBuffer()
    getter = asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    assert not getter.done()
    buffer.put(_trade(7))
    assert (await asyncio.wait_for(getter, 1)).sequential_id == 7
    buffer.put(_trade(8))
    buffer.close(AuthenticationError("nope"))
    assert (await buffer.get()).sequential_id == 8
    with pytest.raises(AuthenticationError):
        await buffer.get()
    with pytest.raises(AuthenticationError):  # stays closed
        await buffer.get()


async def test_close_without_error_ends_iteration() -> None:
    buffer = MessageBuffer()
    buffer.close()
    with pytest.raises(StopAsyncIteration):
        await buffer.get()
