"""Human and JSON-lines rendering of messages for the CLI (times in KST)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from upbitws.client.stats import KST
from upbitws.models import Candle, MyAsset, MyOrder, Orderbook, Ticker, Trade

__all__ = ["describe", "jsonl_line", "kst_time"]

_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def jsonl_line(message: Any) -> str:
    """One JSON object, DEFAULT field names, exact numbers written as JSON numbers."""
    return _ENCODER.encode(message).decode() + "\n"


def kst_time(epoch_ms: int) -> str:
    """``HH:MM:SS.mmm`` in KST."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone(KST)
    return moment.strftime("%H:%M:%S.") + f"{epoch_ms % 1000:03d}"


def describe(m: Any) -> str:
    """A one-line human description of a message."""
    t = kst_time(m.timestamp)
    if isinstance(m, Ticker):
        return (
            f"{t} {m.code:<12} ticker    {m.trade_price:>16} {m.change.value:<4} "
            f"{m.signed_change_rate * 100:+.2f}%  vol24h {m.acc_trade_volume_24h}"
        )
    if isinstance(m, Trade):
        return (
            f"{t} {m.code:<12} trade     {m.ask_bid.value:<3} {m.trade_volume} @ {m.trade_price}"
            f"  #{m.sequential_id}"
        )
    if isinstance(m, Orderbook):
        bids, asks = m.bids, m.asks
        bid = f"{bids[0].size} @ {bids[0].price}" if bids else "-"
        ask = f"{asks[0].size} @ {asks[0].price}" if asks else "-"
        return f"{t} {m.code:<12} orderbook bid {bid} | ask {ask}  ({len(m.orderbook_units)} units)"
    if isinstance(m, Candle):
        return (
            f"{t} {m.code:<12} {m.type:<9} {m.candle_date_time_kst} O {m.opening_price} "
            f"H {m.high_price} L {m.low_price} C {m.trade_price} V {m.candle_acc_trade_volume}"
        )
    if isinstance(m, MyOrder):
        return (
            f"{t} {m.code:<12} myOrder   {m.state.value:<6} {m.ask_bid.value} {m.order_type.value}"
            f" price {m.price} volume {m.volume} executed {m.executed_volume}  {m.uuid}"
        )
    if isinstance(m, MyAsset):
        assets = ", ".join(f"{a.currency} {a.balance} (locked {a.locked})" for a in m.assets)
        return f"{t} myAsset   {assets}"
    return f"{t} {m.type:<12} {msgspec.json.encode(m).decode()}"
