"""Human and JSON-lines rendering of messages for the CLI: one clock (KST, offset written) and
one number format (:func:`num`) for every human view."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

from upbitws.client.stats import KST
from upbitws.models import Candle, MyAsset, MyOrder, Orderbook, Ticker, Trade

__all__ = ["KSTFormatter", "describe", "jsonl_line", "kst_time", "num", "pct"]

_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def jsonl_line(message: Any) -> str:
    """One JSON object, DEFAULT field names, exact numbers written as JSON numbers."""
    return _ENCODER.encode(message).decode() + "\n"


class KSTFormatter(logging.Formatter):
    """Log times in KST with the offset written (``2026-11-22 13:15:56.123+09:00``): the
    same clock as the statistics and the events on the same stderr."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC).astimezone(KST)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(record.msecs):03d}+09:00"


def kst_time(epoch_ms: int) -> str:
    """``HH:MM:SS.mmm`` in KST (the offset is written once per view, e.g. a header)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone(KST)
    return moment.strftime("%H:%M:%S.") + f"{epoch_ms % 1000:03d}"


def num(value: Decimal | float | int | None) -> str:
    """A number for people: thousands separators, every digit the wire sent, never an
    exponent (``1.16539E8`` → ``116,539,000``, ``0E-8`` → ``0``, ``0.00077720`` kept);
    ``-`` for a missing value."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not exact.is_finite():
        return str(exact)
    if exact.is_zero():
        return "0"
    if exact == exact.to_integral_value():
        exact = exact.quantize(Decimal(1))  # 1.16539E8 and 140000000.0 have no fraction
    return f"{exact:,f}"


def pct(rate: Decimal | float | None) -> str:
    """A signed change rate as a percentage with two decimals: ``+1.23%``."""
    if rate is None:
        return "-"
    return f"{Decimal(repr(rate)) if isinstance(rate, float) else rate:+.2%}"


def describe(m: Any) -> str:
    """A one-line human description of a message (times in KST)."""
    t = kst_time(m.timestamp)
    if isinstance(m, Ticker):
        return (
            f"{t} {m.code:<12} ticker    {num(m.trade_price):>16} {m.change.value:<4} "
            f"{pct(m.signed_change_rate)}  vol24h {num(m.acc_trade_volume_24h)}"
        )
    if isinstance(m, Trade):
        return (
            f"{t} {m.code:<12} trade     {m.ask_bid.value:<3} {num(m.trade_volume)} @ "
            f"{num(m.trade_price)}  #{m.sequential_id}"
        )
    if isinstance(m, Orderbook):
        bids, asks = m.bids, m.asks
        bid = f"{num(bids[0].size)} @ {num(bids[0].price)}" if bids else "-"
        ask = f"{num(asks[0].size)} @ {num(asks[0].price)}" if asks else "-"
        return f"{t} {m.code:<12} orderbook bid {bid} | ask {ask}  ({len(m.orderbook_units)} units)"
    if isinstance(m, Candle):
        return (
            f"{t} {m.code:<12} {m.type:<9} {m.candle_date_time_kst} O {num(m.opening_price)} "
            f"H {num(m.high_price)} L {num(m.low_price)} C {num(m.trade_price)} "
            f"V {num(m.candle_acc_trade_volume)}"
        )
    if isinstance(m, MyOrder):
        return f"{t} {m.code:<12} myOrder   {_order_text(m)}"
    if isinstance(m, MyAsset):
        assets = ", ".join(
            f"{a.currency} {num(a.balance)}" + (f" (locked {num(a.locked)})" if a.locked else "")
            for a in m.assets
        )
        return f"{t} myAsset   {assets}"
    return f"{t} {m.type:<12} {msgspec.json.encode(m).decode()}"


def _order_text(m: Any) -> str:
    """``wait bid limit 0.001 @ 140,100,000 (executed 0)``; a market buy by total (``price``
    order: no volume, ``price`` is the total) reads ``bid market buy for 1,000,000 KRW``."""
    kind = m.order_type.value
    side = m.ask_bid.value
    quote = m.code.partition("-")[0]
    if kind == "price":  # §4.6: a market buy for a total; volume is null
        what = f"market buy for {num(m.price)} {quote}"
    elif kind == "market":
        what = f"market sell {num(m.volume)}"
    elif m.price is None:
        what = f"{kind} {num(m.volume)}"
    else:
        what = f"{kind} {num(m.volume)} @ {num(m.price)}"
    return f"{m.state.value:<6} {side} {what} (executed {num(m.executed_volume)})  {m.uuid}"
