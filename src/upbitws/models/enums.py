"""Typed enumerations of Upbit's string fields (protocol §4).

They are ``StrEnum``s, so ``trade.ask_bid == "BID"`` and ``trade.ask_bid == AskBid.BID`` both
hold, and they encode back to the exact wire text.

They are **open**: a value Upbit adds later (a new ``ask_bid``, ``market_state``, order
``state``) still decodes, instead of failing the whole frame. It becomes an instance of the
enum that is not one of its members: it equals its raw string, ``str(value)`` and encoding
give the wire text back, and ``value.known`` is ``False``. Known values are the members
themselves (``is`` works), found by msgspec's own lookup, so decoding them costs nothing
more; only an unknown value runs :meth:`OpenStrEnum._missing_`. Unknown values are not
cached: a server sending endless new values cannot grow memory.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "AskBid",
    "Change",
    "EventType",
    "MarketState",
    "MarketWarning",
    "OpenStrEnum",
    "OrderState",
    "OrderType",
    "SmpType",
    "StreamType",
    "TimeInForce",
]


class OpenStrEnum(StrEnum):
    """A ``StrEnum`` that accepts values it does not know (see the module docstring)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None  # AskBid(5) still fails: only wire strings are accepted
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """``True`` for the members listed here, ``False`` for a value Upbit added later."""
        return type(self)._value2member_map_.get(self._value_) is self


class StreamType(OpenStrEnum):
    """``SNAPSHOT``: the state at request time, sent once; ``REALTIME``: pushed on change."""

    SNAPSHOT = "SNAPSHOT"
    REALTIME = "REALTIME"


class Change(OpenStrEnum):
    """Direction against the previous close."""

    RISE = "RISE"
    EVEN = "EVEN"
    FALL = "FALL"


class AskBid(OpenStrEnum):
    """Taker side: ``BID`` hit the ask (a buy), ``ASK`` hit the bid (a sell) (§4.3)."""

    ASK = "ASK"
    BID = "BID"


class MarketState(OpenStrEnum):
    """Ticker ``market_state``: ``PREVIEW`` is 입금지원 (deposits only)."""

    PREVIEW = "PREVIEW"
    ACTIVE = "ACTIVE"
    DELISTED = "DELISTED"


class MarketWarning(OpenStrEnum):
    """Deprecated ticker ``market_warning``."""

    NONE = "NONE"
    CAUTION = "CAUTION"


class OrderType(OpenStrEnum):
    """myOrder ``order_type``: ``price`` is a market buy by total, ``market`` a market sell."""

    LIMIT = "limit"
    PRICE = "price"
    MARKET = "market"
    BEST = "best"


class OrderState(OpenStrEnum):
    """myOrder ``state``; ``trade`` is one fill event, ``prevented`` a self-match prevention."""

    WAIT = "wait"
    WATCH = "watch"
    TRADE = "trade"
    DONE = "done"
    CANCEL = "cancel"
    PREVENTED = "prevented"


class TimeInForce(OpenStrEnum):
    """myOrder ``time_in_force``."""

    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class SmpType(OpenStrEnum):
    """myOrder ``smp_type`` (self-match prevention)."""

    REDUCE = "reduce"
    CANCEL_MAKER = "cancel_maker"
    CANCEL_TAKER = "cancel_taker"


class EventType(OpenStrEnum):
    """announcement ``event_type``."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
