"""FrameFilter: which (type, code) a connection keeps, precomputed per message class; what
a skipped frame announces."""

from __future__ import annotations

from decimal import Decimal

import upbitws
from upbitws.client.buffer import MessageBuffer
from upbitws.client.events import GapDetected, GapUnrecoverable
from upbitws.client.frames import UNKNOWN, FrameFilter
from upbitws.client.options import StreamOptions
from upbitws.client.recovery import TradeRecovery
from upbitws.client.state import MarketState
from upbitws.client.stats import StreamCounters
from upbitws.models import Candle1m, Candle5m, MyAsset, MyOrder, Ticker
from upbitws.protocol.peek import PeekedKey
from upbitws.protocol.subscriptions import SubscriptionSet


def _filter(subs: SubscriptionSet) -> FrameFilter:
    return FrameFilter(lambda: subs)


def test_codes_per_type_match_the_codes_messages_carry() -> None:
    subs = SubscriptionSet(
        [
            upbitws.orderbook("KRW-BTC.5", "KRW-ETH.5"),  # depth suffix: messages say KRW-BTC
            upbitws.orderbook("KRW-XRP", level=Decimal(1000)),
            upbitws.candle("1m", "KRW-BTC"),
            upbitws.trade("KRW-BTC"),
        ]
    )
    codes = _filter(subs).codes()
    assert codes == {
        "orderbook": frozenset({"KRW-BTC", "KRW-ETH", "KRW-XRP"}),
        "candle.1m": frozenset({"KRW-BTC"}),
        "trade": frozenset({"KRW-BTC"}),
    }


def test_routes_are_per_class_and_drop_unsubscribed_types() -> None:
    frame_filter = _filter(SubscriptionSet([upbitws.candle("1m", "KRW-BTC")]))
    assert frame_filter.route(Candle1m, "candle.1m") == ("candle.1m", frozenset({"KRW-BTC"}))
    assert frame_filter.route(Candle5m, "candle.5m") == ("candle.5m", frozenset())
    assert frame_filter.route(Ticker, "ticker") == ("ticker", frozenset())
    assert set(frame_filter.routes) == {Candle1m, Candle5m, Ticker}


def test_code_less_types_and_my_order_for_every_market_take_every_code() -> None:
    subs = SubscriptionSet([upbitws.my_order(), upbitws.my_asset()])
    frame_filter = _filter(subs)
    assert frame_filter.route(MyOrder, "myOrder") == ("myOrder", None)
    assert frame_filter.route(MyAsset, "myAsset") == ("myAsset", None)
    # not subscribed and without a code: dropped by the caller, not cached
    assert _filter(SubscriptionSet([upbitws.my_order()])).route(MyAsset, "myAsset") is None


def test_refresh_follows_the_desired_set() -> None:
    subs = SubscriptionSet([upbitws.ticker("KRW-BTC")])
    frame_filter = _filter(subs)
    assert frame_filter.route(Ticker, "ticker") == ("ticker", frozenset({"KRW-BTC"}))
    subs.add(upbitws.ticker("KRW-ETH"))
    subs.remove("ticker", "KRW-BTC")
    frame_filter.refresh()
    assert frame_filter.routes == {}
    assert frame_filter.route(Ticker, "ticker") == ("ticker", frozenset({"KRW-ETH"}))


def test_gap_keys_name_only_what_is_subscribed() -> None:
    subs = SubscriptionSet([upbitws.trade("KRW-BTC"), upbitws.orderbook("KRW-ETH")])
    subs.add(upbitws.my_asset())
    keys = _filter(subs).gap_keys
    assert keys(()) == [(UNKNOWN, UNKNOWN)]
    assert keys((PeekedKey("trade", "KRW-BTC"),)) == [("trade", "KRW-BTC")]
    assert keys((PeekedKey("trade", "KRW-XRP"),)) == []  # not wanted: nothing lost
    assert keys((PeekedKey("ticker", "KRW-BTC"),)) == []
    assert keys((PeekedKey("trade", None),)) == [("trade", UNKNOWN)]
    assert keys((PeekedKey(None, "KRW-ANY"),)) == [(UNKNOWN, UNKNOWN)]
    assert keys((PeekedKey("myAsset", None),)) == [("myAsset", "")]
    assert keys((PeekedKey(None, None, control=True),)) == []
    doubled = (PeekedKey("orderbook", "KRW-ETH"),) * 3
    assert keys(doubled) == [("orderbook", "KRW-ETH")]


def test_a_skipped_trade_frame_without_a_readable_code_is_unrecoverable() -> None:
    buffer = MessageBuffer(10)
    recovery = TradeRecovery(
        options=StreamOptions(backfill=True),
        buffer=buffer,
        counters=StreamCounters(),
        state=MarketState(),
    )
    recovery.connection_ready("public", [("trade", "KRW-BTC")])
    assert recovery.backfills("trade", "KRW-BTC")
    assert not recovery.backfills("trade", UNKNOWN)
    recovery.frame_skipped("public", "trade", UNKNOWN, "decode", 1.0)
    first, second = buffer.get_nowait(), buffer.get_nowait()
    assert first == GapDetected("trade", UNKNOWN, "decode", 1000)
    assert isinstance(second, GapUnrecoverable)
    assert "could not be read" in second.reason
