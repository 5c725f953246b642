"""Private-endpoint models: myOrder, myAsset, announcement (protocol §4.6–§4.8)."""

from __future__ import annotations

from typing import ClassVar, Generic

import msgspec

from upbitws.models._base import Event, N
from upbitws.models.enums import (
    AskBid,
    EventType,
    OrderState,
    OrderType,
    SmpType,
    StreamType,
    TimeInForce,
)

__all__ = ["Announcement", "AssetBalance", "MyAsset", "MyOrder"]


class MyOrder(Event, Generic[N], tag="myOrder", frozen=True, kw_only=True):
    """내 주문 및 체결 (§4.6): sent when an order is created, changes or trades.

    With ``state == "trade"`` the frame is one fill: ``price``/``volume`` are the fill's and
    ``trade_uuid``, ``trade_fee``, ``is_maker`` are set; otherwise those are ``None``.
    """

    __simple_keys__: ClassVar[dict[str, str]] = {
        "code": "cd",
        "uuid": "uid",
        "ask_bid": "ab",
        "order_type": "ot",
        "state": "s",
        "trade_uuid": "tuid",
        "price": "p",
        "avg_price": "ap",
        "volume": "v",
        "remaining_volume": "rv",
        "executed_volume": "ev",
        "trades_count": "tc",
        "reserved_fee": "rsf",
        "remaining_fee": "rmf",
        "paid_fee": "pf",
        "locked": "l",
        "executed_funds": "ef",
        "time_in_force": "tif",
        "trade_fee": "tf",
        "is_maker": "im",
        "identifier": "id",
        "smp_type": "smpt",
        "prevented_volume": "pv",
        "prevented_locked": "pl",
        "trade_timestamp": "ttms",
        "order_timestamp": "otms",
        "timestamp": "tms",
        "stream_type": "st",
    }

    code: str
    uuid: str
    ask_bid: AskBid
    order_type: OrderType
    state: OrderState
    trade_uuid: str | None = None
    price: N | None = None
    avg_price: N | None = None
    volume: N | None = None  # null for a market buy by total
    remaining_volume: N | None = None
    executed_volume: N | None = None
    trades_count: int | None = None
    reserved_fee: N | None = None
    remaining_fee: N | None = None
    paid_fee: N | None = None
    locked: N | None = None
    executed_funds: N | None = None
    time_in_force: TimeInForce | None = None
    trade_fee: N | None = None
    is_maker: bool | None = None
    identifier: str | None = None
    smp_type: SmpType | None = None
    prevented_volume: N | None = None
    prevented_locked: N | None = None
    trade_timestamp: int | None = None
    order_timestamp: int | None = None
    timestamp: int
    stream_type: StreamType


class AssetBalance(msgspec.Struct, Generic[N], frozen=True, kw_only=True, gc=False):
    """One currency of a myAsset frame."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "currency": "cu",
        "balance": "b",
        "locked": "l",
    }

    currency: str
    balance: N
    locked: N


class MyAsset(Event, Generic[N], tag="myAsset", frozen=True, kw_only=True):
    """내 자산 (§4.7): the assets whose balance changed. No ``code``."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "asset_uuid": "astuid",
        "assets": "ast",
        "asset_timestamp": "asttms",
        "timestamp": "tms",
        "stream_type": "st",
    }

    asset_uuid: str
    assets: tuple[AssetBalance[N], ...]
    asset_timestamp: int
    timestamp: int
    stream_type: StreamType


class Announcement(Event, tag="announcement", frozen=True, kw_only=True):
    """공지 (§4.8). Times are ISO 8601 strings in KST, as sent; ``body`` only with
    ``include_body`` and may be ``None`` for large bodies."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "event_type": "et",
        "uuid": "uid",
        "title": "tt",
        "category": "cat",
        "url": "url",
        "first_listed_at": "flat",
        "listed_at": "lat",
        "timestamp": "tms",
        "stream_type": "st",
        "body": "bd",
    }

    event_type: EventType
    uuid: str
    title: str
    category: str
    url: str | None = None
    first_listed_at: str | None = None
    listed_at: str | None = None
    timestamp: int
    stream_type: StreamType
    body: str | None = None
