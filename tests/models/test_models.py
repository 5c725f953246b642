"""The models against the protocol's field tables (§4.2-§4.10) and their own promises."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import ALL_MODELS, EVENT_MODELS, Numbers, decimals, floats, messages, model
from upbitws.models import (
    CANDLE_CLASSES,
    Announcement,
    AskBid,
    AssetBalance,
    Candle,
    Candle1m,
    Candle240m,
    Change,
    ErrorDetail,
    ErrorFrame,
    EventType,
    MarketState,
    MarketWarning,
    MyAsset,
    MyOrder,
    Orderbook,
    OrderbookUnit,
    OrderState,
    OrderType,
    PriceLevel,
    SmpType,
    StatusFrame,
    StreamType,
    SubscriptionEntry,
    SubscriptionList,
    Ticker,
    TimeInForce,
    Trade,
)

if TYPE_CHECKING:
    from enum import StrEnum

# DEFAULT and SIMPLE keys, copied from the tables of docs/protocol.md §4 (``type``/``ty``,
# the tag, is left out; nested keys are listed under their own model).
TABLES: dict[type[Any], str] = {
    Ticker: """
        code cd  opening_price op  high_price hp  low_price lp  trade_price tp
        prev_closing_price pcp  change c  change_price cp  signed_change_price scp
        change_rate cr  signed_change_rate scr  trade_volume tv  acc_trade_volume atv
        acc_trade_volume_24h atv24h  acc_trade_price atp  acc_trade_price_24h atp24h
        trade_date tdt  trade_time ttm  trade_timestamp ttms  ask_bid ab  acc_ask_volume aav
        acc_bid_volume abv  highest_52_week_price h52wp  highest_52_week_date h52wdt
        lowest_52_week_price l52wp  lowest_52_week_date l52wdt  market_state ms
        is_trading_suspended its  delisting_date dd  market_warning mw  timestamp tms
        stream_type st  trade_status ts  market_state_for_ios msfi
    """,
    Trade: """
        code cd  trade_price tp  trade_volume tv  ask_bid ab  prev_closing_price pcp
        change c  change_price cp  trade_date td  trade_time ttm  trade_timestamp ttms
        timestamp tms  sequential_id sid  best_ask_price bap  best_ask_size bas
        best_bid_price bbp  best_bid_size bbs  stream_type st
    """,
    Orderbook: """
        code cd  total_ask_size tas  total_bid_size tbs  orderbook_units obu  timestamp tms
        level lv  stream_type st
    """,
    OrderbookUnit: "ask_price ap  bid_price bp  ask_size as  bid_size bs",
    Candle: """
        code cd  candle_date_time_utc cdttmu  candle_date_time_kst cdttmk  opening_price op
        high_price hp  low_price lp  trade_price tp  candle_acc_trade_volume catv
        candle_acc_trade_price catp  timestamp tms  stream_type st
    """,
    MyOrder: """
        code cd  uuid uid  ask_bid ab  order_type ot  state s  trade_uuid tuid  price p
        avg_price ap  volume v  remaining_volume rv  executed_volume ev  trades_count tc
        reserved_fee rsf  remaining_fee rmf  paid_fee pf  locked l  executed_funds ef
        time_in_force tif  trade_fee tf  is_maker im  identifier id  smp_type smpt
        prevented_volume pv  prevented_locked pl  trade_timestamp ttms  order_timestamp otms
        timestamp tms  stream_type st
    """,
    MyAsset: """
        asset_uuid astuid  assets ast  asset_timestamp asttms  timestamp tms  stream_type st
    """,
    AssetBalance: "currency cu  balance b  locked l",
    Announcement: """
        event_type et  uuid uid  title tt  category cat  url url  first_listed_at flat
        listed_at lat  timestamp tms  stream_type st  body bd
    """,
    SubscriptionList: "method mthd  result rslt  ticket tckt",
    SubscriptionEntry: "type ty  codes cds  level lv",
}

#: Fields that can be absent or null on the wire (§4: deprecated, legacy, added later, nulls).
OPTIONAL: dict[type[Any], set[str]] = {
    Ticker: {
        "acc_trade_volume_24h",
        "acc_trade_price_24h",
        "highest_52_week_price",
        "highest_52_week_date",
        "lowest_52_week_price",
        "lowest_52_week_date",
        "market_state",
        "is_trading_suspended",
        "delisting_date",
        "market_warning",
        "trade_status",
        "market_state_for_ios",
    },
    Trade: {"best_ask_price", "best_ask_size", "best_bid_price", "best_bid_size"},
    Orderbook: {"level"},
    # §4.6: nulls of a market buy in state wait, and fields older frames lack entirely
    MyOrder: {
        "trade_uuid",
        "volume",
        "remaining_volume",
        "executed_volume",
        "time_in_force",
        "trade_fee",
        "is_maker",
        "identifier",
        "smp_type",
        "prevented_volume",
        "prevented_locked",
        "trade_timestamp",
    },
    Announcement: {"body"},
}

ENUM_VALUES: dict[type[StrEnum], set[str]] = {
    StreamType: {"SNAPSHOT", "REALTIME"},
    Change: {"RISE", "EVEN", "FALL"},
    AskBid: {"ASK", "BID"},
    MarketState: {"PREVIEW", "ACTIVE", "DELISTED"},
    MarketWarning: {"NONE", "CAUTION"},
    OrderType: {"limit", "price", "market", "best"},
    OrderState: {"wait", "watch", "trade", "done", "cancel", "prevented"},
    TimeInForce: {"ioc", "fok", "post_only"},
    SmpType: {"reduce", "cancel_maker", "cancel_taker"},
    EventType: {"CREATED", "UPDATED"},
}

MODES: tuple[Numbers, ...] = ("decimal", "float")


def table(cls: type[Any]) -> dict[str, str]:
    words = TABLES[cls].split()
    return dict(zip(words[::2], words[1::2], strict=True))


@pytest.mark.parametrize("cls", list(TABLES), ids=lambda c: c.__name__)
def test_simple_keys_are_the_protocol_table(cls: type[Any]) -> None:
    assert cls.__simple_keys__ == table(cls)


@pytest.mark.parametrize("cls", list(TABLES), ids=lambda c: c.__name__)
def test_every_documented_field_is_an_attribute_with_its_default_name(cls: type[Any]) -> None:
    assert set(cls.__struct_fields__) == set(table(cls))
    simple = list(table(cls).values())
    assert len(simple) == len(set(simple)), "SIMPLE keys must be unique within a model"
    assert "ty" not in simple or cls is SubscriptionEntry


@pytest.mark.parametrize("cls", list(OPTIONAL), ids=lambda c: c.__name__)
def test_fields_that_can_be_missing_default_to_none(cls: type[Any]) -> None:
    fields = {f.name: f for f in msgspec.structs.fields(cls)}
    for name in OPTIONAL[cls]:
        assert not fields[name].required, name
        assert fields[name].default is None, name


def test_only_the_documented_optional_fields_are_optional() -> None:
    lenient = {
        # Every numeric myOrder field may be missing: 2024 Singapore frames lack many (§4.6).
        MyOrder: {"code", "uuid", "ask_bid", "order_type", "state", "timestamp", "stream_type"},
        Announcement: {"event_type", "uuid", "title", "category", "timestamp", "stream_type"},
    }
    classes: tuple[type[msgspec.Struct], ...] = (
        *OPTIONAL, Candle, MyAsset, AssetBalance, OrderbookUnit,
    )  # fmt: skip
    for cls in classes:
        fields = msgspec.structs.fields(cls)
        defaults = {f.name for f in fields if not f.required}
        optional = OPTIONAL.get(cls, set())
        if cls in lenient:
            assert optional <= defaults, cls.__name__
            assert lenient[cls] <= {f.name for f in fields if f.required}, cls.__name__
        else:
            assert defaults == optional, cls.__name__


@pytest.mark.parametrize("enum", list(ENUM_VALUES), ids=lambda e: e.__name__)
def test_enumerations_are_the_wire_text(enum: type[StrEnum]) -> None:
    assert {member.value for member in enum} == ENUM_VALUES[enum]
    for member in enum:
        assert member == member.value
        assert str(member) == member.value
        assert msgspec.json.encode(member) == f'"{member.value}"'.encode()
        assert msgspec.json.decode(f'"{member.value}"', type=enum) is member


def test_candle_classes_cover_every_unit() -> None:
    units = ["1s", "1m", "3m", "5m", "10m", "15m", "30m", "60m", "240m"]
    assert list(CANDLE_CLASSES) == [f"candle.{u}" for u in units]
    for wire_type, cls in CANDLE_CLASSES.items():
        assert issubclass(cls, Candle)
        assert cls.__struct_config__.tag == wire_type
        assert cls.__struct_fields__ == Candle.__struct_fields__
        assert cls.__simple_keys__ == Candle.__simple_keys__
    assert len(set(CANDLE_CLASSES.values())) == 9


@settings(max_examples=30)
@given(data=st.data())
def test_candle_type_and_unit(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(list(CANDLE_CLASSES.values())))
    candle = data.draw(model(cls))
    assert isinstance(candle, Candle)
    assert candle.type == cls.__struct_config__.tag
    assert candle.unit == candle.type.removeprefix("candle.")


@settings(max_examples=5)
@given(data=st.data())
def test_type_property_of_every_model(data: st.DataObject) -> None:
    expected = {
        Ticker: "ticker",
        Trade: "trade",
        Orderbook: "orderbook",
        MyOrder: "myOrder",
        MyAsset: "myAsset",
        Announcement: "announcement",
    }
    for cls, wire_type in expected.items():
        assert data.draw(model(cls)).type == wire_type
    assert Candle1m.__struct_config__.tag == "candle.1m"
    assert Candle240m.__struct_config__.tag == "candle.240m"
    assert StatusFrame("UP").type == "status"
    assert ErrorFrame(ErrorDetail("NO_TICKET", "m")).type == "error"
    assert SubscriptionList(method="LIST_SUBSCRIPTIONS", result=()).type == "subscription_list"


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
@settings(max_examples=5)
@given(data=st.data())
def test_models_are_frozen_and_hashable_values(cls: type[Any], data: st.DataObject) -> None:
    message = data.draw(model(cls))
    name = message.__struct_fields__[0]
    with pytest.raises(AttributeError):
        setattr(message, name, getattr(message, name))
    with pytest.raises((AttributeError, TypeError)):
        message.extra = 1
    assert message == msgspec.structs.replace(message)
    assert cls.__struct_config__.frozen


@pytest.mark.parametrize("cls", EVENT_MODELS, ids=lambda c: c.__name__)
def test_event_tags_use_the_type_key(cls: type[Any]) -> None:
    assert cls.__struct_config__.tag_field == "type"
    assert cls.__struct_config__.tag in {
        "ticker",
        "trade",
        "orderbook",
        "myOrder",
        "myAsset",
        "announcement",
        *CANDLE_CLASSES,
    }


def test_generic_number_type() -> None:
    kwargs: dict[str, Any] = {
        "code": "KRW-BTC",
        "candle_date_time_utc": "2026-08-26T08:08:00",
        "candle_date_time_kst": "2026-08-26T17:08:00",
        "timestamp": 1,
        "stream_type": StreamType.REALTIME,
    }
    prices = ("opening_price", "high_price", "low_price", "trade_price")
    sizes = ("candle_acc_trade_volume", "candle_acc_trade_price")
    exact_numbers: dict[str, Any] = dict.fromkeys(prices + sizes, Decimal("1.16539E8"))
    float_numbers: dict[str, Any] = dict.fromkeys(prices + sizes, 1.16539e8)
    exact = Candle1m(**kwargs, **exact_numbers)
    approx = Candle1m(**kwargs, **float_numbers)
    assert exact.trade_price == approx.trade_price
    field_types = {f.name: f.type for f in msgspec.structs.fields(Candle1m[float])}
    assert field_types["trade_price"] is float
    assert field_types["timestamp"] is int
    field_types = {f.name: f.type for f in msgspec.structs.fields(Candle1m[Decimal])}
    assert field_types["trade_price"] is Decimal


def test_a_minimal_myorder_fills_the_rest_with_none() -> None:
    order = MyOrder(
        code="SGD-BTC",
        uuid="u",
        ask_bid=AskBid.ASK,
        order_type=OrderType.LIMIT,
        state=OrderState.WAIT,
        timestamp=1,
        stream_type=StreamType.REALTIME,
    )
    assert order.trade_uuid is None
    assert order.smp_type is None
    assert order.prevented_locked is None
    assert order.is_maker is None


# ---------------------------------------------------------------- orderbook ladders


def _unit(ask: tuple[Any, Any], bid: tuple[Any, Any]) -> OrderbookUnit[Any]:
    return OrderbookUnit(ask_price=ask[0], ask_size=ask[1], bid_price=bid[0], bid_size=bid[1])


def test_zero_slots_are_skipped_on_each_side_independently() -> None:
    z = Decimal(0)
    units = (
        _unit((Decimal("0.00000689"), Decimal("3")), (Decimal("0.00000650"), Decimal("1"))),
        _unit((Decimal("0.00000690"), Decimal("2")), (z, z)),
        _unit((z, z), (z, z)),
        _unit((Decimal("0.00000700"), z), (Decimal("0.00000600"), Decimal("0E-8"))),
    )
    book = Orderbook(
        code="BTC-SNT",
        total_ask_size=Decimal(5),
        total_bid_size=Decimal(1),
        orderbook_units=units,
        timestamp=1,
        stream_type=StreamType.SNAPSHOT,
    )
    assert book.orderbook_units == units  # as sent
    assert book.asks == [
        PriceLevel(Decimal("0.00000689"), Decimal("3")),
        PriceLevel(Decimal("0.00000690"), Decimal("2")),
    ]
    assert book.bids == [PriceLevel(Decimal("0.00000650"), Decimal("1"))]
    assert book.asks[0].price is units[0].ask_price  # the same objects, not copies


@settings(max_examples=100)
@given(data=st.data())
def test_ladders_keep_order_and_skip_exactly_the_zero_slots(data: st.DataObject) -> None:
    numbers = data.draw(st.sampled_from(MODES))
    value = decimals() if numbers == "decimal" else floats()
    zero_or_value = st.one_of(st.just(Decimal(0) if numbers == "decimal" else 0.0), value)
    units = data.draw(
        st.lists(
            st.builds(
                OrderbookUnit,
                ask_price=zero_or_value,
                bid_price=zero_or_value,
                ask_size=zero_or_value,
                bid_size=zero_or_value,
            ),
            max_size=30,
        )
    )
    book = data.draw(model(Orderbook, numbers))
    book = msgspec.structs.replace(book, orderbook_units=tuple(units))
    assert [(a.price, a.size) for a in book.asks] == [
        (u.ask_price, u.ask_size) for u in units if u.ask_price != 0 and u.ask_size != 0
    ]
    assert [(b.price, b.size) for b in book.bids] == [
        (u.bid_price, u.bid_size) for u in units if u.bid_price != 0 and u.bid_size != 0
    ]


def test_price_level_is_a_pair() -> None:
    level = PriceLevel(Decimal("1.16539E8"), Decimal("0.00077720"))
    assert (level.price, level.size) == (Decimal("116539000"), Decimal("0.0007772"))
    assert msgspec.structs.astuple(level) == (level.price, level.size)
    assert msgspec.to_builtins(level, builtin_types=(Decimal,)) == [level.price, level.size]


# ---------------------------------------------------------------- strategies sanity


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
@settings(max_examples=10)
@given(data=st.data())
def test_strategies_build_valid_models(cls: type[Any], data: st.DataObject) -> None:
    for numbers in MODES:
        message = data.draw(model(cls, numbers))
        assert type(message) is cls
        # Validate the drawn values against the concrete field types.
        concrete: Any = (
            cls[Decimal if numbers == "decimal" else float]
            if getattr(cls, "__parameters__", ())
            else cls
        )
        msgspec.convert(msgspec.to_builtins(message, builtin_types=(Decimal,)), concrete)


@settings(max_examples=50)
@given(message=messages("float"))
def test_float_strategies_hold_no_decimals_in_generic_fields(message: Any) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, msgspec.Struct):
            exact_ok = isinstance(value, SubscriptionEntry)  # level is Decimal by design
            for name in value.__struct_fields__:
                item = getattr(value, name)
                assert exact_ok or not isinstance(item, Decimal), name
                walk(item)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    walk(message)
