"""The codec against the protocol text (§4, §6, §11) and the wire samples in ``tests/data``.

The oracle for every sample is the same file parsed by the standard library with
``parse_float=Decimal``; model field kinds come from the protocol tables (Long fields stay
``int``), not from the codec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strategies import EVENT_MODELS, Numbers, decimals, events, messages, model
from upbitws.exceptions import MessageDecodeError
from upbitws.models import (
    Announcement,
    AssetBalance,
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
    ErrorDetail,
    ErrorFrame,
    Message,
    MyAsset,
    MyOrder,
    Orderbook,
    OrderbookUnit,
    PriceLevel,
    StatusFrame,
    SubscriptionEntry,
    SubscriptionList,
    Ticker,
    Trade,
)
from upbitws.protocol.codec import Decoder, decode, encode, encode_list, to_dict

DATA = Path(__file__).parent.parent / "data"
ALL_FILES = sorted(p.name for p in DATA.glob("*.json"))
#: Client requests, REST replies and JWT parts: JSON, but never a server frame.
NOT_FRAMES = [n for n in ALL_FILES if n.startswith(("request_", "rest_", "jwt_"))]
FRAMES = [n for n in ALL_FILES if n not in NOT_FRAMES]
FORMATS = ["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"]
MODES: list[Numbers] = ["decimal", "float"]

#: Wire type -> model class, from the protocol tables (§4.2-§4.8).
EVENT_CLASS: dict[str, type[msgspec.Struct]] = {
    "ticker": Ticker,
    "trade": Trade,
    "orderbook": Orderbook,
    "candle.1s": Candle1s,
    "candle.1m": Candle1m,
    "candle.3m": Candle3m,
    "candle.5m": Candle5m,
    "candle.10m": Candle10m,
    "candle.15m": Candle15m,
    "candle.30m": Candle30m,
    "candle.60m": Candle60m,
    "candle.240m": Candle240m,
    "myOrder": MyOrder,
    "myAsset": MyAsset,
    "announcement": Announcement,
}
#: Nested objects: field -> element model.
NESTED: dict[str, type[msgspec.Struct]] = {
    "orderbook_units": OrderbookUnit,
    "assets": AssetBalance,
    "result": SubscriptionEntry,
    "error": ErrorDetail,
}
#: Long / Integer fields of the protocol tables: exact ``int`` in both number modes.
INT_FIELDS = frozenset(
    {
        "timestamp",
        "trade_timestamp",
        "sequential_id",
        "trades_count",
        "order_timestamp",
        "asset_timestamp",
        "ticket",
    }
)


# ---------------------------------------------------------------- helpers


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def oracle(data: bytes | str) -> Any:
    """The stdlib reading of a frame: floats as Decimal from the wire text."""
    return json.loads(data, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Compact JSON with Decimals written as ``str(Decimal)`` (exact text, as_tuple kept)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def minify(data: bytes) -> bytes:
    """The same frame without whitespace; number spellings untouched (as Upbit sends it)."""
    return msgspec.json.format(data, indent=-1)


def event_class(obj: dict[str, Any]) -> tuple[type[msgspec.Struct], bool]:
    """The model a wire object must decode to, and whether its keys are SIMPLE."""
    if "type" in obj:
        return EVENT_CLASS[obj["type"]], False
    if "ty" in obj:
        return EVENT_CLASS[obj["ty"]], True
    if "status" in obj:
        return StatusFrame, False
    if "error" in obj:
        return ErrorFrame, False
    if "mthd" in obj:
        return SubscriptionList, True
    return SubscriptionList, False


def rekey(obj: Any, cls: type[msgspec.Struct], to_simple: bool) -> Any:
    """Rename a wire object's keys DEFAULT -> SIMPLE (or back) with the model tables."""
    table: dict[str, str] = dict(getattr(cls, "__simple_keys__", {}))
    table["type"] = "ty"
    if not to_simple:
        table = {v: k for k, v in table.items()}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        default_name = key if to_simple else table.get(key, key)
        inner = NESTED.get(default_name)
        if inner is not None and isinstance(value, list):
            value = [rekey(v, inner, to_simple) for v in value]
        out[table.get(key, key)] = value
    return out


def as_frames(obj: Any) -> list[dict[str, Any]]:
    return obj if isinstance(obj, list) else [obj]


def check_value(
    got: Any, want: Any, name: str, numbers: Numbers, where: str, owner: type | None = None
) -> None:
    """One decoded field against the stdlib's reading of the same wire value."""
    at = f"{where}.{name}"
    if want is None:
        assert got is None, at
    elif isinstance(want, bool):
        assert got is want, at
    elif isinstance(want, str):
        assert isinstance(got, str), at
        assert got == want, at
        if isinstance(got, Enum):
            assert got.value == want, at
    elif isinstance(want, list):
        assert isinstance(got, tuple), at
        assert len(got) == len(want), at
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if isinstance(w, dict):
                check_model(g, w, numbers, f"{at}[{i}]", NESTED[name])
            else:
                check_value(g, w, name, numbers, f"{at}[{i}]", owner)
    elif isinstance(want, dict):
        if isinstance(got, msgspec.Struct):
            check_model(got, want, numbers, at, NESTED[name])
        else:
            assert got == want, at
    elif name in INT_FIELDS:
        assert type(got) is int, at
        assert got == want, at
    else:  # a Double of the protocol tables
        exact = want if isinstance(want, Decimal) else Decimal(want)
        # SubscriptionEntry.level is typed Decimal in both modes (the model is not generic).
        if numbers == "decimal" or owner is SubscriptionEntry:
            assert type(got) is Decimal, at
            assert got.as_tuple() == exact.as_tuple(), f"{at}: {got} != {exact}"
        else:
            assert type(got) is float, at
            assert got == float(exact), at


def check_model(
    got: Any,
    wire: dict[str, Any],
    numbers: Numbers,
    where: str = "$",
    cls: type[msgspec.Struct] | None = None,
) -> None:
    """Every field of a decoded model against the wire object (DEFAULT or SIMPLE keys)."""
    if cls is None:
        cls, simple = event_class(wire)
    else:
        simple_keys = getattr(cls, "__simple_keys__", {}).values()
        simple = any(k in wire for k in simple_keys) and not any(
            k in wire for k in cls.__struct_fields__
        )
    assert type(got) is cls, where
    obj = rekey(wire, cls, to_simple=False) if simple else dict(wire)
    if "type" in obj and "type" not in cls.__struct_fields__:
        assert cast("Any", got).type == obj.pop("type"), where  # the tag (every model has one)
    unknown = set(obj) - set(cls.__struct_fields__)
    assert not unknown, f"{where}: wire keys without a model field: {unknown}"
    for name in cls.__struct_fields__:
        if name in obj:
            check_value(getattr(got, name), obj[name], name, numbers, where, cls)
        else:
            assert getattr(got, name) is None, f"{where}.{name} absent on the wire"


def assert_exact(a: Any, b: Any, where: str = "$") -> None:
    """Equal, same types, and Decimals with the same digits and exponent (not just ==)."""
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, msgspec.Struct):
        for name in a.__struct_fields__:
            assert_exact(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_exact(x, y, f"{where}[{i}]")
    elif isinstance(a, Decimal):
        assert a.as_tuple() == b.as_tuple(), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, where


def decode_error(frame: Any, numbers: Numbers = "decimal") -> MessageDecodeError:
    with pytest.raises(MessageDecodeError) as info:
        decode(frame, numbers=numbers)
    return info.value


def decodes_or_rejects(frame: Any, numbers: Numbers = "decimal") -> None:
    """Malformed input may only ever raise MessageDecodeError."""
    try:
        result = decode(frame, numbers=numbers)
    except MessageDecodeError as exc:
        error = exc
    else:
        assert isinstance(result, list)
        return
    assert error.reason
    assert len(error.payload) <= MessageDecodeError.MAX_PAYLOAD


def default_event_samples() -> Iterator[str]:
    for name in FRAMES:
        obj = oracle(raw(name))
        if isinstance(obj, dict) and "type" in obj:
            yield name


def simple_event_samples() -> Iterator[str]:
    for name in FRAMES:
        obj = oracle(raw(name))
        if isinstance(obj, dict) and "ty" in obj:
            yield name


DEFAULT_EVENTS = list(default_event_samples())
SIMPLE_EVENTS = list(simple_event_samples())


def test_the_corpus_covers_every_type_and_format() -> None:
    types_seen: set[tuple[str, bool]] = set()
    for name in FRAMES:
        for obj in as_frames(oracle(raw(name))):
            cls, simple = event_class(obj)
            types_seen.add((cls.__name__, simple))
    for cls in (Ticker, Trade, Orderbook, MyOrder, MyAsset, Announcement, SubscriptionList):
        assert (cls.__name__, False) in types_seen
        assert (cls.__name__, True) in types_seen
    assert {("StatusFrame", False), ("ErrorFrame", False)} <= types_seen
    assert len(NOT_FRAMES) >= 10


# ---------------------------------------------------------------- every sample, exactly


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("name", FRAMES)
def test_sample_decodes_to_the_right_model_with_exact_values(name: str, numbers: Numbers) -> None:
    data = raw(name)
    wire = as_frames(oracle(data))
    got = decode(data, numbers=numbers)
    assert len(got) == len(wire)
    for i, (message, obj) in enumerate(zip(got, wire, strict=True)):
        check_model(message, obj, numbers, f"{name}[{i}]")


@pytest.mark.parametrize("name", FRAMES)
def test_sample_decodes_the_same_from_every_input_shape(name: str) -> None:
    data = raw(name)
    want = decode(data)
    compact = minify(data)
    pretty = msgspec.json.format(data, indent=4)
    for frame in (compact, pretty, data.decode(), compact.decode(), bytearray(data)):
        assert_exact(decode(frame), want)
    assert_exact(decode(memoryview(compact)), want)
    assert_exact(decode(b"  \r\n" + compact + b"\n "), want)


@pytest.mark.parametrize("name", NOT_FRAMES)
def test_requests_rest_replies_and_jwt_parts_are_not_frames(name: str) -> None:
    data = raw(name)
    for frame in (data, minify(data), data.decode()):
        exc = decode_error(frame)
        assert exc.reason
        assert len(exc.payload) <= 200


@pytest.mark.parametrize("name", [n for n in FRAMES if not n.startswith("error")])
def test_a_decoded_data_frame_is_never_an_error_frame(name: str) -> None:
    assert not any(isinstance(m, ErrorFrame) for m in decode(raw(name)))


# ---------------------------------------------------------------- SIMPLE == DEFAULT


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("name", [*DEFAULT_EVENTS, "list_subscriptions_default_public.json"])
def test_simple_keys_decode_equal_to_default(name: str, numbers: Numbers) -> None:
    wire = oracle(raw(name))
    cls, _ = event_class(wire)
    simple = dumps(rekey(wire, cls, to_simple=True))
    assert '"type"' not in simple
    got_simple = decode(simple, numbers=numbers)
    got_default = decode(raw(name), numbers=numbers)
    assert got_simple == got_default
    assert_exact(got_simple, got_default)
    check_model(got_simple[0], oracle(simple), numbers)


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("name", [*SIMPLE_EVENTS, "list_subscriptions_simple.json"])
def test_real_simple_samples_decode_equal_to_their_default_form(
    name: str, numbers: Numbers
) -> None:
    wire = oracle(raw(name))
    cls, simple = event_class(wire)
    assert simple
    default = dumps(rekey(wire, cls, to_simple=False))
    assert_exact(decode(raw(name), numbers=numbers), decode(default, numbers=numbers))


def test_the_same_myorder_event_in_both_formats_is_equal() -> None:
    # myorder_simple.json respells numbers the Java way (3.092589129839369E7): equal values.
    default = decode(raw("myorder_default.json"))
    simple = decode(raw("myorder_simple.json"))
    assert simple == default
    assert isinstance(simple[0], MyOrder)
    assert simple[0].volume == Decimal("30925891.29839369")


def test_simple_trade_uses_td_not_tdt() -> None:
    (trade,) = decode(raw("trade_simple.json"))
    assert isinstance(trade, Trade)
    assert trade.trade_date == "2020-03-15"
    with pytest.raises(MessageDecodeError):
        decode(raw("trade_simple.json").replace(b'"td"', b'"tdt"'))


# ---------------------------------------------------------------- list frames


def _events_of(names: list[str], simple: bool) -> tuple[list[str], list[Any]]:
    items: list[str] = []
    want: list[Any] = []
    for name in names:
        wire = oracle(raw(name))
        cls, _ = event_class(wire)
        items.append(
            dumps(rekey(wire, cls, to_simple=True)) if simple else minify(raw(name)).decode()
        )
        want.extend(decode(raw(name)))
    return items, want


@pytest.mark.parametrize("simple", [False, True], ids=["JSON_LIST", "SIMPLE_LIST"])
def test_list_frames_decode_every_event_in_order(simple: bool) -> None:
    items, want = _events_of(DEFAULT_EVENTS, simple)
    frame = "[" + ",".join(items) + "]"
    assert frame.startswith('[{"ty":' if simple else '[{"type":')
    assert_exact(decode(frame), want)
    assert_exact(decode(frame.encode()), want)
    pretty = msgspec.json.format(frame.encode(), indent=2)
    assert_exact(decode(pretty), want)
    reversed_frame = "[" + ",".join(reversed(items)) + "]"
    assert_exact(decode(reversed_frame), want[::-1])


def test_list_fixtures_hold_two_or_more_events_in_order() -> None:
    trades = decode(raw("json_list_trades.json"))
    assert all(isinstance(t, Trade) for t in trades)
    assert [cast("Trade[Decimal]", t).sequential_id for t in trades] == [
        17303368620470000,
        17303368620800006,
    ]
    mixed = decode(raw("simple_list_mixed.json"))
    assert [type(m) for m in mixed] == [Ticker, Trade, Candle1m]
    assert [cast("Ticker[Decimal] | Trade[Decimal] | Candle[Decimal]", m).code for m in mixed] == [
        "KRW-BTC",
        "KRW-ETH",
        "KRW-ETH",
    ]


def test_one_element_lists_and_the_empty_list() -> None:
    (status,) = decode(b'[{"status":"UP"}]')
    assert status == StatusFrame("UP")
    (trade,) = decode(b"[" + minify(raw("trade_default.json")) + b"]")
    assert trade == decode(raw("trade_default.json"))[0]
    assert decode(b"[]") == []
    assert decode(" [ ] ") == []


def test_error_frames_inside_a_list_decode() -> None:
    errors = decode(raw("errors_observed_regional_en.json"))
    assert all(isinstance(e, ErrorFrame) for e in errors)
    assert [cast("ErrorFrame", e).error.name for e in errors] == [
        "WRONG_FORMAT",
        "NO_TICKET",
        "INVALID_PARAM",
        "NO_CODES",
    ]


# ---------------------------------------------------------------- key order, whitespace


@pytest.mark.parametrize("name", FRAMES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_key_order_decodes_the_same(name: str, data: st.DataObject) -> None:
    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            items = data.draw(st.permutations(list(value.items())))
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list):
            return [shuffle(v) for v in value]
        return value

    wire = oracle(raw(name))
    shuffled = dumps(shuffle(wire))
    assert_exact(decode(shuffled), decode(raw(name)))


@pytest.mark.parametrize(
    "frame",
    [
        b'{"status":"UP"}',
        b'{ "status" : "UP" }',
        b'\n{\n  "status": "UP"\n}\n',
        '{"status":"UP"}',
        b'[{"status":"UP"}]',
    ],
)
def test_status_frame_spellings(frame: Any) -> None:
    assert decode(frame) == [StatusFrame(status="UP")]
    assert decode(frame)[0].type == "status"


def test_error_frame_in_both_key_orders() -> None:
    a = decode(b'{"error":{"name":"NO_TICKET","message":"m"}}')
    b = decode(b'{"error":{"message":"m","name":"NO_TICKET"}}')
    assert a == b == [ErrorFrame(ErrorDetail(name="NO_TICKET", message="m"))]


# ---------------------------------------------------------------- exactness


def test_exponent_and_trailing_zero_spellings_survive() -> None:
    (ticker,) = decode(raw("ticker_default_live_exponent.json"))
    assert isinstance(ticker, Ticker)
    assert str(ticker.trade_price) == str(Decimal("1.16539E8"))
    assert ticker.trade_price.as_tuple() == Decimal("1.16539E8").as_tuple()
    assert str(ticker.trade_volume) == "0.00077720"
    assert ticker.trade_volume.as_tuple() == (0, (7, 7, 7, 2, 0), -8)
    assert str(ticker.prev_closing_price) == "116012000.00000000"
    (trade,) = decode(raw("trade_simple_2026.json"))
    assert isinstance(trade, Trade)
    assert trade.trade_volume.as_tuple() == Decimal("7.9276E-4").as_tuple()
    assert trade.best_ask_size is not None
    assert trade.best_ask_size.as_tuple() == Decimal("5.0E-4").as_tuple()


@pytest.mark.parametrize(
    "text",
    ["-0", "-0.0", "0E-8", "1E+2", "1e2", "1.5e-7", "-1.16539E8", "5.0E-4", "0.00077720", "12"],
)
def test_number_spellings_read_as_the_stdlib_reads_them(text: str) -> None:
    wire = raw("candle_default.json").replace(b"109715000.0", text.encode())
    want = oracle(wire)["opening_price"]
    want = want if isinstance(want, Decimal) else Decimal(want)
    (candle,) = decode(wire)
    assert isinstance(candle, Candle)
    assert candle.opening_price.as_tuple() == want.as_tuple()
    (fcandle,) = decode(wire, numbers="float")
    assert isinstance(fcandle, Candle)
    assert fcandle.opening_price == float(want)


def test_values_beyond_double_precision_survive() -> None:
    for name in ("myasset_default.json", "myasset_simple.json"):
        (asset,) = decode(raw(name))
        assert isinstance(asset, MyAsset)
        krw = asset.assets[0]
        assert str(krw.balance) == "1386929.37231066771348207123"
        assert krw.balance.as_tuple() == Decimal("1386929.37231066771348207123").as_tuple()
        assert str(krw.locked) == "10329.670127489597585685"
        assert float(krw.balance) != krw.balance  # the float would have lost digits


def test_sequential_id_beyond_2_53_stays_an_exact_int() -> None:
    for numbers in MODES:
        (trade,) = decode(raw("trade_simple_2026.json"), numbers=numbers)
        assert isinstance(trade, Trade)
        assert type(trade.sequential_id) is int
        assert trade.sequential_id == 17877285547970003 > 2**53
        (trade,) = decode(raw("trade_default.json"), numbers=numbers)
        assert isinstance(trade, Trade)
        assert trade.sequential_id == 17877285547970000
    big = raw("trade_default.json").replace(b"17877285547970000", str(2**63 - 1).encode())
    (trade,) = decode(big)
    assert isinstance(trade, Trade)
    assert trade.sequential_id == 2**63 - 1


def test_float_mode_gives_floats_and_keeps_ints() -> None:
    (ticker,) = decode(raw("ticker_default_live_exponent.json"), numbers="float")
    assert isinstance(ticker, Ticker)
    assert type(ticker.trade_price) is float
    assert ticker.trade_price == 116539000.0
    assert type(ticker.opening_price) is float  # "1.16012E8"
    assert type(ticker.timestamp) is int
    assert type(ticker.trade_timestamp) is int
    (book,) = decode(raw("orderbook_default.json"), numbers="float")
    assert isinstance(book, Orderbook)
    assert type(book.orderbook_units[0].ask_price) is float  # an int on the wire
    assert Decoder("float").decode(raw("orderbook_default.json")) == [book]
    exact: list[object] = list(decode(raw("orderbook_default.json")))
    assert exact != [book]


def test_decoder_rejects_an_unknown_number_mode() -> None:
    with pytest.raises(ValueError, match="numbers"):
        Decoder("exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numbers"):
        decode(b'{"status":"UP"}', numbers="exact")  # type: ignore[call-overload]
    assert decode(b'{"status":"UP"}', numbers="float") == [StatusFrame("UP")]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_every_model(fmt: str, numbers: Numbers, data: st.DataObject) -> None:
    message = data.draw(messages(numbers))
    frame = encode(message, fmt)
    assert frame.startswith(b"[") == fmt.endswith("_LIST")
    got = decode(frame, numbers=numbers)
    assert got == [message]
    assert_exact(got, [message])


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cls", EVENT_MODELS, ids=lambda c: c.__name__)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_round_trip_each_event_model(
    cls: type[msgspec.Struct], fmt: str, numbers: Numbers, data: st.DataObject
) -> None:
    message = cast("Message", data.draw(model(cls, numbers)))  # EVENT_MODELS are all messages
    assert_exact(decode(encode(message, fmt), numbers=numbers), [message])


@pytest.mark.parametrize("numbers", MODES)
@pytest.mark.parametrize("fmt", ["JSON_LIST", "SIMPLE_LIST"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_list_frames(fmt: str, numbers: Numbers, data: st.DataObject) -> None:
    batch = data.draw(st.lists(events(numbers), min_size=2, max_size=5))
    assert_exact(decode(encode_list(batch, fmt), numbers=numbers), batch)


@settings(max_examples=150, deadline=None)
@given(message=events("decimal"), fmt=st.sampled_from(FORMATS))
def test_float_mode_reads_the_nearest_float_of_every_exact_value(message: Any, fmt: str) -> None:
    exact = decode(encode(message, fmt))[0]
    approx = decode(encode(message, fmt), numbers="float")[0]

    def floated(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, tuple):
            return tuple(floated(v) for v in value)
        if isinstance(value, msgspec.Struct):
            return type(value)(**{n: floated(getattr(value, n)) for n in value.__struct_fields__})
        return value

    assert_exact(approx, floated(exact))


@given(value=decimals())
@example(Decimal("1386929.37231066771348207123"))
@example(Decimal("1.16539E8"))
@example(Decimal("0E-8"))
def test_decimal_text_survives_encode_and_decode(value: Decimal) -> None:
    frame = raw("candle_default.json").replace(b"109715000.0", str(value).encode())
    (candle,) = decode(frame)
    assert isinstance(candle, Candle)
    assert candle.opening_price.as_tuple() == value.as_tuple()
    (again,) = decode(encode(candle))
    assert isinstance(again, Candle)
    assert again.opening_price.as_tuple() == value.as_tuple()


def test_encode_rejects_an_unknown_format() -> None:
    (status,) = decode(raw("status_up.json"))
    with pytest.raises(ValueError, match="format"):
        encode(status, "XML")


def test_encode_keeps_the_sample_values() -> None:
    for name in DEFAULT_EVENTS:
        (message,) = decode(raw(name))
        again = oracle(encode(message))
        wire = oracle(raw(name))
        for key, value in wire.items():
            if isinstance(value, Decimal):
                assert again[key].as_tuple() == value.as_tuple(), (name, key)
            elif not isinstance(value, list | int):
                assert again[key] == value, (name, key)


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize("name", FRAMES)
def test_every_truncation_of_every_sample_is_rejected(name: str) -> None:
    data = raw(name).strip()
    for frame in (data, minify(data)):
        for cut in range(len(frame)):
            decode_error(frame[:cut])


@pytest.mark.parametrize("name", FRAMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_truncated_text_is_rejected_in_both_modes(name: str, data: st.DataObject) -> None:
    text = raw(name).decode().strip()
    cut = data.draw(st.integers(0, len(text) - 1))
    decode_error(text[:cut], numbers=data.draw(st.sampled_from(MODES)))


def _wrong_values(key: str, value: Any) -> list[Any]:
    """JSON values of a type the protocol table does not allow for this value's field."""
    if value is None:
        return [[1], [[]]]
    if isinstance(value, bool):
        return ["true", 1, [], {}]
    if isinstance(value, str):
        return [1, 1.5, True, [], {}]
    if isinstance(value, list):
        return ["x", 1, {}]
    if isinstance(value, int) and key in INT_FIELDS:
        return ["abc", "1", 1.5, True, [], {}]
    if isinstance(value, int | Decimal):
        # Note: numeric *strings* ("1.5") are accepted in exact mode (msgspec reads Decimal
        # from strings too); only non-numeric types are checked here.
        return ["abc", True, [], {}, "NaNx"]
    return [1]


@pytest.mark.parametrize("name", DEFAULT_EVENTS + SIMPLE_EVENTS)
def test_wrong_types_in_any_field_are_rejected(name: str) -> None:
    wire = oracle(raw(name))
    cls, simple = event_class(wire)
    tag = "ty" if simple else "type"
    for key, value in wire.items():
        if key == tag:
            continue
        field = {v: k for k, v in cls.__simple_keys__.items()}.get(key, key) if simple else key  # type: ignore[attr-defined]
        for bad in _wrong_values(field, value):
            if key in ("delisting_date", "dd") and isinstance(bad, dict):
                continue  # the UNVERIFIED object form of delisting_date is accepted (§4.2)
            frame = dumps({**wire, key: bad})
            for numbers in MODES:
                exc = decode_error(frame, numbers=numbers)
                assert "Expected" in exc.reason or "Invalid" in exc.reason, (key, exc.reason)


@pytest.mark.parametrize(
    "name", ["orderbook_default.json", "orderbook_simple.json", "myasset_default.json"]
)
def test_wrong_types_inside_nested_objects_are_rejected(name: str) -> None:
    wire = oracle(raw(name))
    units_key = next(k for k, v in wire.items() if isinstance(v, list))
    for key, value in wire[units_key][0].items():
        for bad in [None, *_wrong_values(key, value)]:
            nested = [dict(wire[units_key][0], **{key: bad}), *wire[units_key][1:]]
            decode_error(dumps({**wire, units_key: nested}))


@pytest.mark.parametrize("name", DEFAULT_EVENTS + SIMPLE_EVENTS)
def test_required_fields_reject_null_and_absence(name: str) -> None:
    wire = oracle(raw(name))
    cls, simple = event_class(wire)
    names = {v: k for k, v in cls.__simple_keys__.items()} if simple else {}  # type: ignore[attr-defined]
    required = {f.name for f in msgspec.structs.fields(cls) if f.required}
    for key in wire:
        field = names.get(key, key)
        if field in required:
            decode_error(dumps({**wire, key: None}))
            decode_error(dumps({k: v for k, v in wire.items() if k != key}))
        elif field in cls.__struct_fields__:
            (message,) = decode(dumps({k: v for k, v in wire.items() if k != key}))
            assert getattr(message, field) is None


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b" ",
        b"\n\t \r\n",
        "",
        "   ",
        b"null",
        b"true",
        b"1",
        b"1.16539E8",
        b'"ticker"',
        b"{}",
        b"[[]]",
        b"[[[]]]",
        b"[{}]",
        b"[null]",
        b"[1,2]",
        b'[{"status":"UP"},[]]',
        b'[[{"status":"UP"}]]',
        b"{" * 5000,
        b"[" * 100_000,
        b'{"a":' * 100_000,
        b'{"status":"UP"}{"status":"UP"}',
        b'{"status":"UP"},',
        b'{"status":UP}',
        b"{'status':'UP'}",
        b'{"status":"UP"',
        b'{"type":"indicator","code":"KRW-BTC","timestamp":1}',
        b'{"type":"candle.2m","code":"KRW-BTC"}',
        b'{"ty":"nope"}',
        b'{"type":"ticker"}',
        b'{"ticket":"x"}',
        b'{"error":"INVALID_AUTH"}',
        b'{"error":{"name":401,"message":"x"}}',
        b'{"status":"UP","junk":NaN}',
        b'{"method":"LIST_SUBSCRIPTIONS"}',
        b"\xff\xfe{\x00",
        b'{"status":"\xff"}',
        "\ud800",
        '{"status":"\udcff"}',
        b"PONG",
        b"\x00",
    ],
)
def test_malformed_frames_raise_message_decode_error(frame: Any) -> None:
    for numbers in MODES:
        exc = decode_error(frame, numbers=numbers)
        assert exc.reason
        assert exc.reason in str(exc)
        assert len(exc.payload) <= 200


def test_unknown_types_are_rejected_not_misread() -> None:
    wire = oracle(raw("candle_default.json"))
    for wrong in ("candle.2m", "candle", "Candle.1m", "indicator", "myTrade", "TICKER"):
        decode_error(dumps({**wire, "type": wrong}))
    wire = oracle(raw("trade_simple.json"))
    decode_error(dumps({**wire, "ty": "tr"}))


def test_the_error_carries_the_reason_and_a_short_payload() -> None:
    frame = minify(raw("orderbook_default.json"))
    exc = decode_error(frame[:-1])
    assert "invalid JSON" in exc.reason
    assert exc.payload == frame[:200]
    assert f"({len(frame) - 1} bytes)" in str(exc)
    exc = decode_error(b'{"jwt":"x"}')
    assert "type" in exc.reason
    assert exc.payload == b'{"jwt":"x"}'
    wire = oracle(raw("trade_default.json"))
    exc = decode_error(dumps({**wire, "trade_price": "abc"}))
    assert "trade_price" in exc.reason
    assert isinstance(exc, ValueError)


@settings(max_examples=500, deadline=None)
@given(frame=st.binary(max_size=300))
@example(b"[]")
@example(b"[{}]")
def test_random_bytes_only_ever_raise_message_decode_error(frame: bytes) -> None:
    for numbers in MODES:
        decodes_or_rejects(frame, numbers)


@settings(max_examples=500, deadline=None)
@given(frame=st.text(max_size=200))
def test_random_text_only_ever_raises_message_decode_error(frame: str) -> None:
    for numbers in MODES:
        decodes_or_rejects(frame, numbers)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
WIRE_KEYS = st.sampled_from(
    ["type", "ty", "status", "error", "method", "mthd", "result", "rslt", "code", "name", "message"]
)


@settings(max_examples=500, deadline=None)
@given(
    value=st.one_of(
        JSON_VALUES,
        st.dictionaries(WIRE_KEYS, JSON_VALUES, max_size=4),
        st.lists(st.dictionaries(WIRE_KEYS, JSON_VALUES, max_size=4), max_size=3),
    )
)
def test_random_json_only_ever_raises_message_decode_error(value: Any) -> None:
    frame = json.dumps(value)
    for numbers in MODES:
        decodes_or_rejects(frame, numbers)
        decodes_or_rejects(frame.encode(), numbers)


@pytest.mark.parametrize("name", FRAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mutated_samples_only_ever_raise_message_decode_error(
    name: str, data: st.DataObject
) -> None:
    wire = as_frames(oracle(raw(name)))[0]
    key = data.draw(st.sampled_from(sorted(wire)))
    mutated = {**wire, key: data.draw(JSON_VALUES)}
    text = json.dumps(mutated, default=str)
    decodes_or_rejects(text)
    decodes_or_rejects(text, "float")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_byte_flips_in_samples_only_ever_raise_message_decode_error(data: st.DataObject) -> None:
    frame = bytearray(minify(raw(data.draw(st.sampled_from(FRAMES)))))
    for _ in range(data.draw(st.integers(1, 3))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    decodes_or_rejects(bytes(frame))
    decodes_or_rejects(bytes(frame), "float")


# ---------------------------------------------------------------- to_dict


@pytest.mark.parametrize("name", FRAMES)
def test_to_dict_has_default_names_and_is_json_ready(name: str) -> None:
    for message, wire in zip(decode(raw(name)), as_frames(oracle(raw(name))), strict=True):
        cls, simple = event_class(wire)
        default = rekey(wire, cls, to_simple=False) if simple else wire
        out = to_dict(message)
        text = json.dumps(out)  # no default= needed
        assert json.loads(text) == as_lists(out)
        assert set(default) <= set(out)
        assert set(out) - set(default) <= {
            n for n in cls.__struct_fields__ if getattr(message, n) is None
        }
        if cls in EVENT_CLASS.values():
            assert out["type"] == message.type
        for key, value in default.items():
            if isinstance(value, Decimal):
                assert isinstance(out[key], str)
                assert Decimal(out[key]).as_tuple() == value.as_tuple()


def as_lists(value: Any) -> Any:
    """JSON's view of a builtins tree: tuples (how to_dict gives sequences) become lists."""
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_lists(v) for v in value]
    return value


def _contains_decimal(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_decimal(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_decimal(v) for v in value)
    return isinstance(value, Decimal)


def test_to_dict_number_options() -> None:
    (asset,) = decode(raw("myasset_default.json"))
    kept = to_dict(asset, decimals="decimal")
    balance = kept["assets"][0]["balance"]
    assert type(balance) is Decimal
    assert str(balance) == "1386929.37231066771348207123"
    assert kept["stream_type"] == "REALTIME"
    floats = to_dict(asset, decimals="float")
    assert floats["assets"][0]["balance"] == float(balance)
    json.dumps(floats)
    text = to_dict(asset)
    assert text["assets"][0]["balance"] == "1386929.37231066771348207123"
    assert text["type"] == "myAsset"
    assert text["asset_timestamp"] == 1710146517259


def test_to_dict_of_a_float_mode_message() -> None:
    (book,) = decode(raw("orderbook_default.json"), numbers="float")
    out = to_dict(book)
    assert out["orderbook_units"][0]["ask_price"] == 137002000.0
    assert out["type"] == "orderbook"
    json.dumps(out)


@settings(max_examples=100, deadline=None)
@given(message=messages("decimal"))
def test_to_dict_is_json_serialisable_for_any_model(message: Any) -> None:
    out = to_dict(message)
    assert json.loads(json.dumps(out)) == as_lists(out)
    floats = to_dict(message, decimals="float")
    assert json.loads(json.dumps(floats)) == as_lists(floats)
    assert not _contains_decimal(floats)
    assert not _contains_decimal(out)
    if type(message) in EVENT_CLASS.values():
        assert out["type"] == message.type


# ---------------------------------------------------------------- orderbook ladders


def test_thin_book_keeps_padded_units_and_cleans_the_ladders() -> None:
    (book,) = decode(raw("orderbook_default_thin_padded.json"))
    assert isinstance(book, Orderbook)
    assert len(book.orderbook_units) == 15
    assert book.orderbook_units[3] == OrderbookUnit(
        ask_price=Decimal(0), bid_price=Decimal(0), ask_size=Decimal(0), bid_size=Decimal(0)
    )
    assert book.asks == [
        PriceLevel(Decimal("0.00000689"), Decimal("1203.44000000")),
        PriceLevel(Decimal("0.00000690"), Decimal("51.00000000")),
        PriceLevel(Decimal("0.00000712"), Decimal("8000.00000000")),
    ]
    assert book.bids == [
        PriceLevel(Decimal("0.00000650"), Decimal("300.00000000")),
        PriceLevel(Decimal("0.00000601"), Decimal("0.50000000")),
    ]
    assert str(book.asks[0].price) == "0.00000689"
    assert sum(level.size for level in book.asks) == book.total_ask_size


def test_thin_simple_book_from_the_id_host_has_no_level() -> None:
    for numbers in MODES:
        (book,) = decode(raw("orderbook_simple_id_host_thin.json"), numbers=numbers)
        assert isinstance(book, Orderbook)
        assert book.level is None
        num = Decimal if numbers == "decimal" else float
        asks = [("1520.0", "12.5"), ("1530.0", "5.0E-4")]
        assert [(a.price, a.size) for a in book.asks] == [(num(p), num(s)) for p, s in asks]
        assert [(b.price, b.size) for b in book.bids] == [(num("1490.0"), num("3.1E-4"))]


@pytest.mark.parametrize(
    "name",
    ["orderbook_default.json", "orderbook_default_live_exponent.json", "orderbook_simple.json"],
)
def test_full_books_keep_every_level_in_order(name: str) -> None:
    (book,) = decode(raw(name))
    assert isinstance(book, Orderbook)
    assert len(book.asks) == len(book.bids) == len(book.orderbook_units) == 30
    asks = [a.price for a in book.asks]
    bids = [b.price for b in book.bids]
    assert asks == sorted(asks)
    assert bids == sorted(bids, reverse=True)
    assert sum(a.size for a in book.asks) == book.total_ask_size
    assert sum(b.size for b in book.bids) == book.total_bid_size


def test_live_exponent_book_matches_the_simple_book_of_the_same_state() -> None:
    (default,) = decode(raw("orderbook_default_live_exponent.json"))
    (simple,) = decode(raw("orderbook_simple.json"))
    assert isinstance(default, Orderbook)
    assert isinstance(simple, Orderbook)
    assert default == simple  # equal values, different spellings (1.16539E8 vs 116539000.0)
    assert default.orderbook_units[0].ask_price.as_tuple() == Decimal("1.16539E8").as_tuple()
    assert simple.orderbook_units[0].ask_price.as_tuple() == Decimal("116539000.0").as_tuple()


def test_a_unicode_error_from_the_decoder_becomes_a_message_decode_error() -> None:
    """The boundary maps every failure of the JSON library to our error; this one cannot be
    provoked through msgspec's public input here, so the decoder step raises it directly."""

    def fails(frame: Any) -> Any:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    decoder = Decoder()
    decoder._default_one = fails
    with pytest.raises(MessageDecodeError, match="not UTF-8") as info:
        decoder.decode(minify(raw("trade_default.json")))  # the hot path: {"type": first
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
