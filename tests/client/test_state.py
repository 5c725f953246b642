"""Live market state: latest ticker / book per code, candle upsert by candle time (§4.5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from upbitws import decode
from upbitws.client.state import MarketState

if TYPE_CHECKING:
    from upbitws.models import Candle, Orderbook, Ticker, Trade

DATA = Path(__file__).parent.parent / "data"


def _one(name: str) -> Any:
    return decode((DATA / name).read_bytes())[0]


TICKER: Ticker = _one("ticker_default.json")
BOOK: Orderbook = _one("orderbook_default_thin_padded.json")
CANDLE: Candle = _one("candle_default.json")
TRADE: Trade = _one("trade_default.json")


def test_latest_ticker_and_book_per_code_and_stale_frames_ignored() -> None:
    state = MarketState()
    assert state.ticker(TICKER.code) is None
    state.update(TICKER)
    newer = msgspec.structs.replace(TICKER, timestamp=TICKER.timestamp + 5, trade_price=1)
    state.update(newer)
    state.update(msgspec.structs.replace(TICKER, timestamp=TICKER.timestamp - 5))  # stale
    assert state.ticker(TICKER.code) is newer
    other = msgspec.structs.replace(TICKER, code="KRW-XRP")
    state.update(other)
    assert state.ticker("KRW-XRP") is other
    assert state.ticker(TICKER.code) is newer


def test_orderbook_has_cleaned_ladders() -> None:
    state = MarketState()
    state.update(BOOK)
    book = state.orderbook(BOOK.code)
    assert book is BOOK
    assert len(book.orderbook_units) > len(book.asks)  # zero-padded slots dropped
    assert all(level.price and level.size for level in [*book.asks, *book.bids])
    later = msgspec.structs.replace(BOOK, timestamp=BOOK.timestamp + 100)
    state.update(later)
    assert state.orderbook(BOOK.code) is later


def test_candle_upsert_latest_frame_per_candle_time_and_newer_time_replaces() -> None:
    state = MarketState()
    t0 = CANDLE.candle_date_time_utc
    first = msgspec.structs.replace(CANDLE, trade_price=1)
    second = msgspec.structs.replace(CANDLE, trade_price=2)  # same candle time, resent
    state.update(first)
    state.update(second)
    unit = CANDLE.unit
    assert state.candle(unit, CANDLE.code) is second
    assert state.candle(CANDLE.type, CANDLE.code) is second
    newer = msgspec.structs.replace(CANDLE, candle_date_time_utc="2999-01-01T00:00:00")
    state.update(newer)
    assert state.candle(unit, CANDLE.code) is newer
    state.update(second)  # an older candle time (a stale snapshot) does not go back
    assert state.candle(unit, CANDLE.code) is newer
    assert t0 < newer.candle_date_time_utc
    assert state.candle("240m", CANDLE.code) is None  # units are separate


def test_trades_tape_is_bounded_and_ordered() -> None:
    state = MarketState(trades_kept=3)
    state.update(TRADE)  # trades are not state: the tape is fed by add_trade
    assert state.trades(TRADE.code) == []
    trades = [msgspec.structs.replace(TRADE, sequential_id=i) for i in range(5)]
    for t in trades:
        state.add_trade(t)
    assert state.trades(TRADE.code) == trades[2:]
    assert state.codes() == [TRADE.code]


def test_other_messages_are_ignored() -> None:
    state = MarketState()
    state.update(_one("myasset_default.json"))
    assert state.codes() == []
