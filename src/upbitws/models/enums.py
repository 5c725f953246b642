"""Typed enumerations of Upbit's string fields (protocol §4).

They are ``StrEnum``s, so ``trade.ask_bid == "BID"`` and ``trade.ask_bid == AskBid.BID`` both
hold, and they encode back to the exact wire text.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AskBid",
    "Change",
    "EventType",
    "MarketState",
    "MarketWarning",
    "OrderState",
    "OrderType",
    "SmpType",
    "StreamType",
    "TimeInForce",
]


class StreamType(StrEnum):
    """``SNAPSHOT``: the state at request time, sent once; ``REALTIME``: pushed on change."""

    SNAPSHOT = "SNAPSHOT"
    REALTIME = "REALTIME"


class Change(StrEnum):
    """Direction against the previous close."""

    RISE = "RISE"
    EVEN = "EVEN"
    FALL = "FALL"


class AskBid(StrEnum):
    """Taker side: ``BID`` hit the ask (a buy), ``ASK`` hit the bid (a sell) (§4.3)."""

    ASK = "ASK"
    BID = "BID"


class MarketState(StrEnum):
    """Ticker ``market_state``: ``PREVIEW`` is 입금지원 (deposits only)."""

    PREVIEW = "PREVIEW"
    ACTIVE = "ACTIVE"
    DELISTED = "DELISTED"


class MarketWarning(StrEnum):
    """Deprecated ticker ``market_warning``."""

    NONE = "NONE"
    CAUTION = "CAUTION"


class OrderType(StrEnum):
    """myOrder ``order_type``: ``price`` is a market buy by total, ``market`` a market sell."""

    LIMIT = "limit"
    PRICE = "price"
    MARKET = "market"
    BEST = "best"


class OrderState(StrEnum):
    """myOrder ``state``; ``trade`` is one fill event, ``prevented`` a self-match prevention."""

    WAIT = "wait"
    WATCH = "watch"
    TRADE = "trade"
    DONE = "done"
    CANCEL = "cancel"
    PREVENTED = "prevented"


class TimeInForce(StrEnum):
    """myOrder ``time_in_force``."""

    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class SmpType(StrEnum):
    """myOrder ``smp_type`` (self-match prevention)."""

    REDUCE = "reduce"
    CANCEL_MAKER = "cancel_maker"
    CANCEL_TAKER = "cancel_taker"


class EventType(StrEnum):
    """announcement ``event_type``."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
