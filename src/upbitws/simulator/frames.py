"""Tape state to upbitws models (protocol §4.2–§4.5) and REST rows (§10).

Every builder returns a frozen model from ``upbitws.models``; the session encodes it with
``upbitws.protocol.codec.encode`` in the connection's format.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from upbitws.models import (
    CANDLE_CLASSES,
    AskBid,
    Candle,
    Change,
    MarketState,
    MarketWarning,
    Orderbook,
    OrderbookUnit,
    StreamType,
    Ticker,
    Trade,
)
from upbitws.simulator.tape import Level, MarketSim, TapeTrade, quantize

__all__ = [
    "candle_frame",
    "change_of",
    "orderbook_frame",
    "rest_tick",
    "ticker_frame",
    "trade_frame",
]

_ZERO = Decimal(0)
_RATE_Q = Decimal("0.0000000001")
_KST = timedelta(hours=9)
# Upbit stamps a frame a few ms after the trade it carries (trade_default.json: +56 ms).
_PUBLISH_LAG_MS = 3


def change_of(price: Decimal, prev_close: Decimal) -> tuple[Change, Decimal]:
    """``change`` and absolute ``change_price`` against the previous close (§4.2)."""
    if price > prev_close:
        return Change.RISE, price - prev_close
    if price < prev_close:
        return Change.FALL, prev_close - price
    return Change.EVEN, _ZERO


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def trade_frame(code: str, t: TapeTrade, stream: StreamType) -> Trade[Decimal]:
    """A ``trade`` frame (§4.3); ``sequential_id`` is the tape's unique id (§11.2)."""
    change, change_price = change_of(t.price, t.prev_close)
    when = _utc(t.timestamp)
    return Trade(
        code=code,
        trade_price=t.price,
        trade_volume=t.volume,
        ask_bid=AskBid(t.side),
        prev_closing_price=t.prev_close,
        change=change,
        change_price=change_price,
        trade_date=when.strftime("%Y-%m-%d"),
        trade_time=when.strftime("%H:%M:%S"),
        trade_timestamp=t.timestamp,
        timestamp=t.timestamp + _PUBLISH_LAG_MS,
        sequential_id=t.sequential_id,
        best_ask_price=t.best_ask_price,
        best_ask_size=t.best_ask_size,
        best_bid_price=t.best_bid_price,
        best_bid_size=t.best_bid_size,
        stream_type=stream,
    )


def ticker_frame(sim: MarketSim, stream: StreamType) -> Ticker[Decimal] | None:
    """The ``ticker`` of ``sim`` after its last trade (§4.2); ``None`` before any trade."""
    t = sim.last
    if t is None:
        return None
    change, change_price = change_of(t.price, sim.prev_close)
    signed = change_price if change is not Change.FALL else -change_price
    rate = quantize(change_price / sim.prev_close, _RATE_Q)
    when = _utc(t.timestamp)
    return Ticker(
        code=sim.code,
        opening_price=sim.opening,
        high_price=sim.high,
        low_price=sim.low,
        trade_price=t.price,
        prev_closing_price=sim.prev_close,
        change=change,
        change_price=change_price,
        signed_change_price=signed,
        change_rate=rate,
        signed_change_rate=rate if change is not Change.FALL else -rate,
        trade_volume=t.volume,
        acc_trade_volume=quantize(sim.acc_volume),
        acc_trade_volume_24h=quantize(sim.volume_24h),
        acc_trade_price=quantize(sim.acc_price),
        acc_trade_price_24h=quantize(sim.price_24h),
        trade_date=when.strftime("%Y%m%d"),
        trade_time=when.strftime("%H%M%S"),
        trade_timestamp=t.timestamp,
        ask_bid=AskBid(t.side),
        acc_ask_volume=quantize(sim.acc_ask),
        acc_bid_volume=quantize(sim.acc_bid),
        highest_52_week_price=sim.high_52w,
        highest_52_week_date=sim.high_52w_date,
        lowest_52_week_price=sim.low_52w,
        lowest_52_week_date=sim.low_52w_date,
        market_state=MarketState.ACTIVE,
        is_trading_suspended=False,
        delisting_date=None,
        market_warning=MarketWarning.NONE,
        timestamp=t.timestamp + _PUBLISH_LAG_MS,
        stream_type=stream,
    )


def orderbook_frame(
    sim: MarketSim, depth: int, level: Decimal, stream: StreamType
) -> Orderbook[Decimal]:
    """A full top-``depth`` book (§4.4): pads thin sides with zero slots, totals are the sums
    of the sent units, ``level`` grouped when non-zero (the caller checked it is supported)."""
    if level:
        asks: list[Level] = sim.grouped("ASK", depth, level)
        bids: list[Level] = sim.grouped("BID", depth, level)
    else:
        asks, bids = sim.levels("ASK", depth), sim.levels("BID", depth)
    units = []
    total_ask = total_bid = _ZERO
    for i in range(depth):
        ask_price, ask_size = asks[i] if i < len(asks) else (_ZERO, _ZERO)
        bid_price, bid_size = bids[i] if i < len(bids) else (_ZERO, _ZERO)
        total_ask += ask_size
        total_bid += bid_size
        units.append(
            OrderbookUnit(
                ask_price=ask_price, bid_price=bid_price, ask_size=ask_size, bid_size=bid_size
            )
        )
    return Orderbook(
        code=sim.code,
        total_ask_size=total_ask,
        total_bid_size=total_bid,
        orderbook_units=tuple(units),
        timestamp=sim.book_ts,
        level=level,
        stream_type=stream,
    )


def candle_frame(sim: MarketSim, unit: str, stream: StreamType) -> Candle[Decimal] | None:
    """The current (most recent existing) candle of ``unit`` (§4.5); ``None`` before any
    trade."""
    c = sim.candles.get(unit)
    if c is None:
        return None
    start = datetime.fromtimestamp(c.start, UTC)
    cls: Any = CANDLE_CLASSES[f"candle.{unit}"]
    frame: Candle[Decimal] = cls(
        code=sim.code,
        candle_date_time_utc=start.strftime("%Y-%m-%dT%H:%M:%S"),
        candle_date_time_kst=(start + _KST).strftime("%Y-%m-%dT%H:%M:%S"),
        opening_price=c.opening,
        high_price=c.high,
        low_price=c.low,
        trade_price=c.close,
        candle_acc_trade_volume=quantize(c.volume),
        candle_acc_trade_price=quantize(c.turnover),
        timestamp=c.timestamp + _PUBLISH_LAG_MS,
        stream_type=stream,
    )
    return frame


def rest_tick(code: str, t: TapeTrade) -> dict[str, Any]:
    """One row of ``GET /v1/trades/ticks`` (Upbit's REST shape, §10)."""
    _, change_price = change_of(t.price, t.prev_close)
    when = _utc(t.timestamp)
    return {
        "market": code,
        "trade_date_utc": when.strftime("%Y-%m-%d"),
        "trade_time_utc": when.strftime("%H:%M:%S"),
        "timestamp": t.timestamp,
        "trade_price": t.price,
        "trade_volume": t.volume,
        "prev_closing_price": t.prev_close,
        "change_price": change_price,
        "ask_bid": t.side,
        "sequential_id": t.sequential_id,
    }
