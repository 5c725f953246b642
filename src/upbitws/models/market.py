"""Quotation models: ticker, trade, orderbook, candle (protocol §4.2–§4.5).

Attribute names are the DEFAULT wire names. Numbers are ``N``: ``Decimal`` built from the wire
text by default, ``float`` in the codec's opt-in float mode. Fields that old frames lack or that
Upbit sends as ``null`` default to ``None``; deprecated fields still decode.
"""

from __future__ import annotations

from typing import ClassVar, Generic

import msgspec

from upbitws.models._base import Event, N
from upbitws.models.enums import AskBid, Change, MarketState, MarketWarning, StreamType

__all__ = [
    "CANDLE_CLASSES",
    "Candle",
    "Candle1m",
    "Candle1s",
    "Candle3m",
    "Candle5m",
    "Candle10m",
    "Candle15m",
    "Candle30m",
    "Candle60m",
    "Candle240m",
    "Orderbook",
    "OrderbookUnit",
    "PriceLevel",
    "Ticker",
    "Trade",
]


class Ticker(Event, Generic[N], tag="ticker", frozen=True, kw_only=True):
    """현재가 (§4.2). Pushed on trades; ``stream_type`` SNAPSHOT once, then REALTIME."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "code": "cd",
        "opening_price": "op",
        "high_price": "hp",
        "low_price": "lp",
        "trade_price": "tp",
        "prev_closing_price": "pcp",
        "change": "c",
        "change_price": "cp",
        "signed_change_price": "scp",
        "change_rate": "cr",
        "signed_change_rate": "scr",
        "trade_volume": "tv",
        "acc_trade_volume": "atv",
        "acc_trade_volume_24h": "atv24h",
        "acc_trade_price": "atp",
        "acc_trade_price_24h": "atp24h",
        "trade_date": "tdt",
        "trade_time": "ttm",
        "trade_timestamp": "ttms",
        "ask_bid": "ab",
        "acc_ask_volume": "aav",
        "acc_bid_volume": "abv",
        "highest_52_week_price": "h52wp",
        "highest_52_week_date": "h52wdt",
        "lowest_52_week_price": "l52wp",
        "lowest_52_week_date": "l52wdt",
        "market_state": "ms",
        "is_trading_suspended": "its",
        "delisting_date": "dd",
        "market_warning": "mw",
        "timestamp": "tms",
        "stream_type": "st",
        "trade_status": "ts",
        "market_state_for_ios": "msfi",
    }

    code: str
    opening_price: N
    high_price: N
    low_price: N
    trade_price: N
    prev_closing_price: N
    change: Change
    change_price: N
    signed_change_price: N
    change_rate: N
    signed_change_rate: N
    trade_volume: N
    acc_trade_volume: N
    acc_trade_volume_24h: N | None = None
    acc_trade_price: N
    acc_trade_price_24h: N | None = None
    trade_date: str  # yyyyMMdd, UTC
    trade_time: str  # HHmmss, UTC
    trade_timestamp: int
    ask_bid: AskBid
    acc_ask_volume: N
    acc_bid_volume: N
    highest_52_week_price: N | None = None
    highest_52_week_date: str | None = None  # yyyy-MM-dd
    lowest_52_week_price: N | None = None
    lowest_52_week_date: str | None = None
    market_state: MarketState | None = None
    is_trading_suspended: bool | None = None  # deprecated, still sent
    # UNVERIFIED shape when set (§4.2): a "yyyy-MM-dd" string or a {year,month,day} object.
    delisting_date: str | dict[str, int] | None = None
    market_warning: MarketWarning | None = None  # deprecated
    timestamp: int
    stream_type: StreamType
    trade_status: str | None = None  # legacy
    market_state_for_ios: str | None = None  # legacy


class Trade(Event, Generic[N], tag="trade", frozen=True, kw_only=True):
    """체결 (§4.3). ``sequential_id`` is unique per trade but NOT ordered (§11.2)."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "code": "cd",
        "trade_price": "tp",
        "trade_volume": "tv",
        "ask_bid": "ab",
        "prev_closing_price": "pcp",
        "change": "c",
        "change_price": "cp",
        "trade_date": "td",
        "trade_time": "ttm",
        "trade_timestamp": "ttms",
        "timestamp": "tms",
        "sequential_id": "sid",
        "best_ask_price": "bap",
        "best_ask_size": "bas",
        "best_bid_price": "bbp",
        "best_bid_size": "bbs",
        "stream_type": "st",
    }

    code: str
    trade_price: N
    trade_volume: N
    ask_bid: AskBid
    prev_closing_price: N
    change: Change
    change_price: N
    trade_date: str  # yyyy-MM-dd, UTC
    trade_time: str  # HH:mm:ss, UTC
    trade_timestamp: int
    timestamp: int
    sequential_id: int
    best_ask_price: N | None = None  # absent before ~2022
    best_ask_size: N | None = None
    best_bid_price: N | None = None
    best_bid_size: N | None = None
    stream_type: StreamType


class PriceLevel(msgspec.Struct, Generic[N], frozen=True, array_like=True, gc=False):
    """One side's level of a cleaned ladder: ``(price, size)``."""

    price: N
    size: N


class OrderbookUnit(msgspec.Struct, Generic[N], frozen=True, kw_only=True, gc=False):
    """The i-th best ask paired with the i-th best bid; zero slots pad thin books (§4.4)."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "ask_price": "ap",
        "bid_price": "bp",
        "ask_size": "as",
        "bid_size": "bs",
    }

    ask_price: N
    bid_price: N
    ask_size: N
    bid_size: N


class Orderbook(Event, Generic[N], tag="orderbook", frozen=True, kw_only=True):
    """호가 (§4.4): every frame is a complete top-N book, never a delta.

    ``orderbook_units`` are exactly as sent (zero-padded slots included); :attr:`asks` and
    :attr:`bids` are the cleaned ladders, best first, without zero slots.
    """

    __simple_keys__: ClassVar[dict[str, str]] = {
        "code": "cd",
        "total_ask_size": "tas",
        "total_bid_size": "tbs",
        "orderbook_units": "obu",
        "timestamp": "tms",
        "level": "lv",
        "stream_type": "st",
    }

    code: str
    total_ask_size: N
    total_bid_size: N
    orderbook_units: tuple[OrderbookUnit[N], ...]
    timestamp: int
    level: N | None = None  # absent on the ID host
    stream_type: StreamType

    @property
    def asks(self) -> list[PriceLevel[N]]:
        """Ask levels, lowest price first, skipping zero-padded slots."""
        return [
            PriceLevel(u.ask_price, u.ask_size)
            for u in self.orderbook_units
            if u.ask_price and u.ask_size
        ]

    @property
    def bids(self) -> list[PriceLevel[N]]:
        """Bid levels, highest price first, skipping zero-padded slots."""
        return [
            PriceLevel(u.bid_price, u.bid_size)
            for u in self.orderbook_units
            if u.bid_price and u.bid_size
        ]


class Candle(Event, Generic[N], frozen=True, kw_only=True):
    """캔들 (§4.5). One class per unit (``Candle1m`` …), all ``isinstance`` of ``Candle``.

    The same ``candle_date_time_utc`` is resent as the candle updates: upsert by it.
    """

    __simple_keys__: ClassVar[dict[str, str]] = {
        "code": "cd",
        "candle_date_time_utc": "cdttmu",
        "candle_date_time_kst": "cdttmk",
        "opening_price": "op",
        "high_price": "hp",
        "low_price": "lp",
        "trade_price": "tp",
        "candle_acc_trade_volume": "catv",
        "candle_acc_trade_price": "catp",
        "timestamp": "tms",
        "stream_type": "st",
    }

    code: str
    candle_date_time_utc: str  # yyyy-MM-ddTHH:mm:ss, candle start
    candle_date_time_kst: str
    opening_price: N
    high_price: N
    low_price: N
    trade_price: N
    candle_acc_trade_volume: N
    candle_acc_trade_price: N
    timestamp: int
    stream_type: StreamType

    @property
    def unit(self) -> str:
        """The candle unit, e.g. ``"1m"``."""
        return self.type.partition(".")[2]


class Candle1s(Candle[N], Generic[N], tag="candle.1s", frozen=True, kw_only=True):
    """1-second candle."""


class Candle1m(Candle[N], Generic[N], tag="candle.1m", frozen=True, kw_only=True):
    """1-minute candle."""


class Candle3m(Candle[N], Generic[N], tag="candle.3m", frozen=True, kw_only=True):
    """3-minute candle."""


class Candle5m(Candle[N], Generic[N], tag="candle.5m", frozen=True, kw_only=True):
    """5-minute candle."""


class Candle10m(Candle[N], Generic[N], tag="candle.10m", frozen=True, kw_only=True):
    """10-minute candle."""


class Candle15m(Candle[N], Generic[N], tag="candle.15m", frozen=True, kw_only=True):
    """15-minute candle."""


class Candle30m(Candle[N], Generic[N], tag="candle.30m", frozen=True, kw_only=True):
    """30-minute candle."""


class Candle60m(Candle[N], Generic[N], tag="candle.60m", frozen=True, kw_only=True):
    """60-minute candle."""


class Candle240m(Candle[N], Generic[N], tag="candle.240m", frozen=True, kw_only=True):
    """240-minute candle."""


#: Candle class by wire type, e.g. ``CANDLE_CLASSES["candle.1m"] is Candle1m``.
CANDLE_CLASSES: dict[str, type[Candle]] = {
    "candle.1s": Candle1s,
    "candle.1m": Candle1m,
    "candle.3m": Candle3m,
    "candle.5m": Candle5m,
    "candle.10m": Candle10m,
    "candle.15m": Candle15m,
    "candle.30m": Candle30m,
    "candle.60m": Candle60m,
    "candle.240m": Candle240m,
}
