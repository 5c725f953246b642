"""Typed models of every frame Upbit sends (protocol §4–§6); msgspec Structs, frozen.

Attribute names are the DEFAULT wire names. Generic in their number type ``N``: ``Decimal``
(exact, default) or ``float`` (the codec's opt-in float mode).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeAlias

from upbitws.models._base import Event, N
from upbitws.models.control import (
    ErrorDetail,
    ErrorFrame,
    StatusFrame,
    SubscriptionEntry,
    SubscriptionList,
)
from upbitws.models.enums import (
    AskBid,
    Change,
    EventType,
    MarketState,
    MarketWarning,
    OrderState,
    OrderType,
    SmpType,
    StreamType,
    TimeInForce,
)
from upbitws.models.market import (
    CANDLE_CLASSES,
    Candle,
    Candle1m,
    Candle1s,
    Candle3m,
    Candle5m,
    Candle10m,
    Candle15m,
    Candle30m,
    Candle60m,
    Candle240m,
    Orderbook,
    OrderbookUnit,
    PriceLevel,
    Ticker,
    Trade,
)
from upbitws.models.private import Announcement, AssetBalance, MyAsset, MyOrder
from upbitws.models.recovered import RecoveredTrade

#: Every message ``decode`` returns in exact mode.
Message: TypeAlias = (
    Ticker[Decimal]
    | Trade[Decimal]
    | Orderbook[Decimal]
    | Candle[Decimal]
    | MyOrder[Decimal]
    | MyAsset[Decimal]
    | Announcement
    | StatusFrame
    | ErrorFrame
    | SubscriptionList
)

#: Every message ``decode`` returns in float mode.
FloatMessage: TypeAlias = (
    Ticker[float]
    | Trade[float]
    | Orderbook[float]
    | Candle[float]
    | MyOrder[float]
    | MyAsset[float]
    | Announcement
    | StatusFrame
    | ErrorFrame
    | SubscriptionList
)

__all__ = [
    "CANDLE_CLASSES",
    "Announcement",
    "AskBid",
    "AssetBalance",
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
    "Change",
    "ErrorDetail",
    "ErrorFrame",
    "Event",
    "EventType",
    "FloatMessage",
    "MarketState",
    "MarketWarning",
    "Message",
    "MyAsset",
    "MyOrder",
    "N",
    "OrderState",
    "OrderType",
    "Orderbook",
    "OrderbookUnit",
    "PriceLevel",
    "RecoveredTrade",
    "SmpType",
    "StatusFrame",
    "StreamType",
    "SubscriptionEntry",
    "SubscriptionList",
    "Ticker",
    "TimeInForce",
    "Trade",
]
