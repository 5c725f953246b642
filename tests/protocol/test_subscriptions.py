"""Tests for upbitws.protocol.subscriptions: validation, set semantics, wire rendering."""

from __future__ import annotations

import ast
import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upbitws.exceptions import SubscriptionError
from upbitws.protocol import subscriptions as mod
from upbitws.protocol.requests import parse_request, render_list_subscriptions, render_request
from upbitws.protocol.subscriptions import (
    ANNOUNCEMENT_CATEGORIES,
    CANDLE_UNITS,
    ORDERBOOK_DEPTHS,
    PRIVATE_TYPES,
    PUBLIC_TYPES,
    Format,
    Subscription,
    SubscriptionSet,
    announcement,
    candle,
    is_private,
    my_asset,
    my_order,
    orderbook,
    ticker,
    trade,
)

DATA = Path(__file__).parent.parent / "data"
REQUEST_SAMPLES = sorted(DATA.glob("request_*.json"))
CAMEL = {"isOnlySnapshot": "is_only_snapshot", "isOnlyRealtime": "is_only_realtime"}


def rendered(subs: SubscriptionSet, ticket: str = "t") -> list[dict[str, Any]]:
    out = json.loads(render_request(subs, ticket))
    assert isinstance(out, list)
    return out


def expected_from_sample(sample: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sample as we render it: snake-case flags, the format object last (DEFAULT if absent)."""
    formats = [item for item in sample if set(item) == {"format"}]
    body = [
        {CAMEL.get(key, key): value for key, value in item.items()}
        for item in sample
        if set(item) != {"format"}
    ]
    return [*body, *(formats or [{"format": "DEFAULT"}])]


# --- golden samples --------------------------------------------------------------------


def test_every_request_sample_is_covered() -> None:
    assert len(REQUEST_SAMPLES) >= 10


@pytest.mark.parametrize("path", REQUEST_SAMPLES, ids=lambda p: p.name)
def test_golden_request_sample_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    sample = json.loads(raw)
    parsed = parse_request(raw)
    assert parsed.ticket == sample[0]["ticket"]
    if parsed.method is not None:
        assert parsed.subscriptions is None
        again = json.loads(render_list_subscriptions(parsed.ticket, parsed.format))
        assert again == sample
        return
    assert parsed.subscriptions is not None
    assert json.loads(render_request(parsed.subscriptions, parsed.ticket)) == (
        expected_from_sample(sample)
    )


def test_golden_legacy_camelcase_sets_the_flags() -> None:
    parsed = parse_request((DATA / "request_legacy_camelcase_cryptofeed_style.json").read_bytes())
    assert parsed.format is Format.SIMPLE  # the format object was second, not last
    assert parsed.subscriptions == SubscriptionSet(
        [orderbook("KRW-BTC", is_only_realtime=True), trade("KRW-BTC", is_only_realtime=True)],
        format=Format.SIMPLE,
    )


def test_golden_sample_without_format_means_default() -> None:
    parsed = parse_request((DATA / "request_ticker_default.json").read_bytes())
    assert parsed.format is None
    assert parsed.subscriptions is not None
    assert parsed.subscriptions.format is Format.DEFAULT


def test_golden_orderbook_depth_and_level() -> None:
    raw = (DATA / "request_orderbook_units_level_simple_list.json").read_bytes()
    subs = parse_request(raw).subscriptions
    assert subs is not None
    assert list(subs) == [
        orderbook("KRW-BTC", depth=15, level=10000),
        orderbook("KRW-ETH", depth=5, level=1000),
    ]
    assert subs.format is Format.SIMPLE_LIST


def test_list_subscriptions_rendering() -> None:
    assert render_list_subscriptions("abc") == (
        b'[{"ticket":"abc"},{"method":"LIST_SUBSCRIPTIONS"}]'
    )
    assert render_list_subscriptions("abc", Format.SIMPLE) == (
        b'[{"ticket":"abc"},{"method":"LIST_SUBSCRIPTIONS"},{"format":"SIMPLE"}]'
    )
    parsed = parse_request(render_list_subscriptions("abc", Format.SIMPLE))
    assert (parsed.method, parsed.format, parsed.subscriptions) == (
        "LIST_SUBSCRIPTIONS",
        Format.SIMPLE,
        None,
    )


# --- rendering -------------------------------------------------------------------------


def test_render_is_compact_utf8_with_ticket_first_and_format_last() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC")], format=Format.SIMPLE)
    assert render_request(subs, "티켓") == (
        '[{"ticket":"티켓"},{"type":"ticker","codes":["KRW-BTC"]},{"format":"SIMPLE"}]'.encode()
    )


def test_render_key_order_and_omitted_defaults() -> None:
    subs = SubscriptionSet(
        [
            orderbook("KRW-BTC", depth=15, level="10000", is_only_snapshot=True),
            trade("KRW-BTC", is_only_realtime=True),
            announcement(["trading", "wallet"], include_body=True),
            my_asset(),
            my_order(),
        ]
    )
    objs = rendered(subs)[1:-1]
    assert [list(obj) for obj in objs] == [
        ["type", "codes", "level", "is_only_snapshot"],
        ["type", "codes", "is_only_realtime"],
        ["type", "categories", "include_body"],
        ["type"],
        ["type"],
    ]
    assert objs[0]["codes"] == ["KRW-BTC.15"]
    assert objs[0]["level"] == 10000


def test_render_myorder_codes_only_when_given() -> None:
    assert rendered(SubscriptionSet([my_order("krw-btc")]))[1] == {
        "type": "myOrder",
        "codes": ["KRW-BTC"],
    }
    assert rendered(SubscriptionSet([my_order()]))[1] == {"type": "myOrder"}


@pytest.mark.parametrize(
    ("level", "text"),
    [
        (10000, b'"level":10000}'),
        ("0.1", b'"level":0.1}'),
        (Decimal("0.10"), b'"level":0.10}'),
        (Decimal("1E+4"), b'"level":10000}'),
        ("0.0000001", b'"level":0.0000001}'),
    ],
)
def test_render_level_is_a_plain_json_number(level: Any, text: bytes) -> None:
    assert text in render_request(SubscriptionSet([orderbook("KRW-BTC", level=level)]), "t")


def test_default_level_and_include_body_false_are_omitted_and_equal_to_none() -> None:
    assert orderbook("KRW-BTC", level=0) == orderbook("KRW-BTC")
    assert announcement(include_body=False) == announcement()
    assert rendered(SubscriptionSet([orderbook("KRW-BTC", level="0.0")]))[1] == {
        "type": "orderbook",
        "codes": ["KRW-BTC"],
    }


def test_render_empty_set_says_to_close_instead() -> None:
    with pytest.raises(SubscriptionError, match="close the connection"):
        render_request(SubscriptionSet(), "t")


@pytest.mark.parametrize("ticket", ["", None, 5])
def test_render_rejects_bad_ticket(ticket: Any) -> None:
    with pytest.raises(SubscriptionError, match="non-empty string"):
        render_request(SubscriptionSet([ticker("KRW-BTC")]), ticket)
    with pytest.raises(SubscriptionError, match="non-empty string"):
        render_list_subscriptions(ticket)


# --- codes normalization ---------------------------------------------------------------


def test_codes_are_stripped_upper_cased_and_deduplicated_in_order() -> None:
    sub = ticker(" krw-eth", "KRW-BTC", "KRW-ETH ", "krw-xrp")
    assert sub.codes == ("KRW-ETH", "KRW-BTC", "KRW-XRP")  # first occurrence keeps its place
    wire = render_request(SubscriptionSet([sub]), "t")
    assert b'"codes":["KRW-ETH","KRW-BTC","KRW-XRP"]' in wire


def test_digit_bases_are_valid_codes() -> None:
    assert trade("btc-1inch").codes == ("BTC-1INCH",)


def test_orderbook_suffix_becomes_depth() -> None:
    sub = orderbook("krw-btc.5", "KRW-ETH.5")
    assert (sub.codes, sub.depth) == (("KRW-BTC", "KRW-ETH"), 5)
    assert orderbook("KRW-BTC.15", depth=15) == orderbook("KRW-BTC", depth=15)
    assert Subscription("orderbook", ("KRW-BTC.1",)).depth == 1


def test_single_string_codes_are_one_code() -> None:
    assert Subscription("ticker", "KRW-BTC").codes == ("KRW-BTC",)  # type: ignore[arg-type]


def test_subscription_is_immutable_and_hashable() -> None:
    sub = ticker("KRW-BTC")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.codes = ("KRW-ETH",)  # type: ignore[misc]
    assert len({sub, ticker("krw-btc")}) == 1


def test_candle_helper_accepts_both_spellings() -> None:
    assert candle("1m", "KRW-BTC") == candle("candle.1m", "KRW-BTC")
    assert candle("240m", "KRW-BTC").type == "candle.240m"


def test_type_constants() -> None:
    assert CANDLE_UNITS == ("1s", "1m", "3m", "5m", "10m", "15m", "30m", "60m", "240m")
    assert PUBLIC_TYPES[:3] == ("ticker", "trade", "orderbook")
    assert len(PUBLIC_TYPES) == 12
    assert set(PRIVATE_TYPES) == {"myOrder", "myAsset", "announcement"}
    assert len(ANNOUNCEMENT_CATEGORIES) == 13
    assert ORDERBOOK_DEPTHS == (1, 5, 15, 30)
    assert all(is_private(t) for t in PRIVATE_TYPES)
    assert not any(is_private(t) for t in PUBLIC_TYPES)
    assert my_asset().is_private
    assert not ticker("KRW-BTC").is_private


# --- validation: every rule, and that the message names the fix ------------------------


@pytest.mark.parametrize(
    ("make", "fix"),
    [
        (lambda: orderbook("KRW-BTC", depth=20), "use one of 1, 5, 15, 30"),
        (lambda: orderbook("KRW-BTC.20"), "use one of 1, 5, 15, 30"),
        (lambda: orderbook("KRW-BTC", depth=True), "use one of 1, 5, 15, 30"),
        (lambda: Subscription("ticker", ("KRW-BTC",), depth=5), "orderbook only"),
        (lambda: Subscription("trade", ("KRW-BTC",), level=Decimal(1)), "orderbook only"),
        (lambda: orderbook("KRW-BTC", level=-1), "use 0 or a positive unit"),
        (lambda: orderbook("KRW-BTC", level="abc"), "use e.g. 10000"),
        (lambda: orderbook("KRW-BTC", level=Decimal("NaN")), "use e.g. 10000"),
        (lambda: orderbook("BTC-ETH", level=10), "KRW markets only"),
        (lambda: orderbook("KRW-BTC", "USDT-BTC", level=10), "separate orderbook subscription"),
        (lambda: ticker(), "needs at least one code"),
        (lambda: ticker("KRW-BTC", ""), "empty code"),
        (lambda: ticker("  "), "empty code"),
        (lambda: ticker("KRWBTC"), "QUOTE-BASE"),
        (lambda: ticker("KRW-BTC-ETH"), "QUOTE-BASE"),
        (lambda: ticker("KRW-비트"), "QUOTE-BASE"),
        (lambda: ticker(5), "is not a string"),  # type: ignore[arg-type]
        (lambda: ticker("KRW-BTC.15"), "depth suffix is for orderbook only"),
        (lambda: Subscription("myAsset", ("KRW-BTC",)), "takes no codes"),
        (lambda: Subscription("announcement", ("KRW-BTC",)), "takes no codes"),
        (lambda: ticker("KRW-BTC", is_only_snapshot=True, is_only_realtime=True), "at most one"),
        (lambda: Subscription("myOrder", is_only_realtime=True), "realtime-only"),
        (lambda: Subscription("myAsset", is_only_snapshot=True), "realtime-only"),
        (lambda: Subscription("announcement", is_only_realtime=True), "realtime-only"),
        (lambda: ticker("KRW-BTC", is_only_snapshot=1), "True or False"),  # type: ignore[arg-type]
        (lambda: announcement(["trading", "gossip"]), "use any of notice, trade"),
        (lambda: announcement([]), "pass None for all"),
        (lambda: announcement(include_body="yes"), "True or False"),  # type: ignore[arg-type]
        (lambda: Subscription("ticker", ("KRW-BTC",), categories=("notice",)), "announcement"),
        (lambda: Subscription("trade", ("KRW-BTC",), include_body=True), "announcement only"),
        (lambda: orderbook("KRW-BTC.15", depth=5), "drop the suffix or make them agree"),
        (lambda: orderbook("KRW-BTC.15", "KRW-ETH.5"), "same .N suffix or pass depth="),
        (lambda: orderbook("KRW-BTC.15", "KRW-ETH"), "one orderbook subscription per depth"),
        (lambda: SubscriptionSet(format="simple"), "use one of DEFAULT, SIMPLE"),
    ],
)
def test_validation_message_names_the_fix(make: Any, fix: str) -> None:
    with pytest.raises(SubscriptionError) as info:
        make()
    assert fix in str(info.value)


def test_non_krw_level_message_says_upbit_sends_nothing() -> None:
    with pytest.raises(SubscriptionError) as info:
        orderbook("KRW-BTC", "btc-eth", level="0.1")
    assert "sends nothing" in str(info.value)
    assert "BTC-ETH" in str(info.value)
    assert "KRW-BTC," not in str(info.value)


def test_non_krw_level_zero_is_fine() -> None:
    assert orderbook("BTC-ETH", level=0).level is None


@pytest.mark.parametrize(
    ("type_", "fix"),
    [
        ("nope", "ticker, trade, orderbook, candle.1s"),
        ("candle", "'candle.1m'"),
        ("candle.1h", "did you mean 'candle.60m'"),
        ("candle.4h", "did you mean 'candle.240m'"),
        ("candle.1d", "'candle.1m'"),
        ("my_order", "did you mean 'myOrder'"),
        ("Ticker", "did you mean 'ticker'"),
    ],
)
def test_unknown_type_lists_valid_types(type_: str, fix: str) -> None:
    with pytest.raises(SubscriptionError) as info:
        Subscription(type_, ("KRW-BTC",))
    assert fix in str(info.value)
    assert "myAsset" in str(info.value)
    assert info.value.name == "INVALID_PARAM"


def test_candle_helper_with_hour_unit_suggests_minutes() -> None:
    with pytest.raises(SubscriptionError, match=r"candle\.60m"):
        candle("1h", "KRW-BTC")


def test_errors_carry_upbit_error_names_where_upbit_would_answer() -> None:
    with pytest.raises(SubscriptionError) as info:
        Subscription("myAsset", ("KRW-BTC",))
    assert info.value.name == "WRONG_FORMAT"
    with pytest.raises(SubscriptionError) as info:
        announcement(["gossip"])
    assert info.value.name == "INVALID_PARAM"
    with pytest.raises(SubscriptionError) as info:
        orderbook("BTC-ETH", level=10)  # Upbit stays silent: no wire error name
    assert info.value.name is None


# --- set semantics ---------------------------------------------------------------------


def test_same_options_merge_into_one_object() -> None:
    subs = SubscriptionSet()
    subs.add(ticker("KRW-BTC"))
    subs.add(ticker("KRW-ETH"))
    assert rendered(subs)[1:-1] == [{"type": "ticker", "codes": ["KRW-BTC", "KRW-ETH"]}]
    assert len(subs) == 1
    assert list(subs) == [ticker("KRW-BTC", "KRW-ETH")]


def test_different_options_stay_separate_objects() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC"), ticker("KRW-ETH", is_only_snapshot=True)])
    assert len(subs) == 2
    assert rendered(subs)[1:-1] == [
        {"type": "ticker", "codes": ["KRW-BTC"]},
        {"type": "ticker", "codes": ["KRW-ETH"], "is_only_snapshot": True},
    ]


def test_readding_a_code_moves_it_to_the_new_options() -> None:
    subs = SubscriptionSet([orderbook("KRW-BTC", "KRW-ETH", level=10000)])
    subs.add(orderbook("KRW-BTC", level=1000, depth=5))
    assert subs.keys() == {("orderbook", "KRW-BTC"), ("orderbook", "KRW-ETH")}
    assert list(subs) == [
        orderbook("KRW-BTC", level=1000, depth=5),
        orderbook("KRW-ETH", level=10000),
    ]


def test_readding_identical_is_a_no_op() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC", "KRW-ETH"), trade("KRW-BTC")])
    before = render_request(subs, "t")
    subs.add(ticker("KRW-ETH"), trade("KRW-BTC"))
    assert render_request(subs, "t") == before


def test_remove_codes_and_types() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC", "KRW-ETH"), orderbook("KRW-BTC.5"), my_asset()])
    subs.remove("ticker", "krw-btc")
    subs.remove("ticker", "KRW-XRP")  # absent: ignored
    subs.remove("orderbook", "KRW-BTC.15")  # the depth suffix does not matter
    assert subs.keys() == {("ticker", "KRW-ETH"), ("myAsset", "")}
    subs.remove("myAsset")
    subs.remove("ticker")
    assert subs.is_empty
    assert len(subs) == 0
    assert not subs


def test_remove_rejects_codes_for_codeless_types_and_unknown_types() -> None:
    subs = SubscriptionSet([my_asset(), announcement()])
    with pytest.raises(SubscriptionError, match=r"call remove\('myAsset'\)"):
        subs.remove("myAsset", "KRW-BTC")
    with pytest.raises(SubscriptionError, match=r"call remove\('announcement'\)"):
        subs.remove("announcement", "KRW-BTC")
    with pytest.raises(SubscriptionError, match="use one of"):
        subs.remove("tickers")


def test_myorder_all_markets_covers_single_markets() -> None:
    subs = SubscriptionSet([my_order("KRW-BTC", "KRW-ETH")])
    subs.add(my_order())
    assert subs.keys() == {("myOrder", "")}
    subs.add(my_order("KRW-XRP"))  # already covered
    assert list(subs) == [my_order()]
    with pytest.raises(SubscriptionError, match=r"remove\('myOrder'\) and add my_order"):
        subs.remove("myOrder", "KRW-BTC")
    subs.remove("myOrder")
    subs.add(my_order("KRW-XRP"))
    assert subs.keys() == {("myOrder", "KRW-XRP")}


def test_announcement_is_one_entry_replaced_by_the_latest() -> None:
    subs = SubscriptionSet([announcement(["notice"])])
    subs.add(announcement(["wallet", "wallet", "trade"], include_body=True))
    assert list(subs) == [announcement(["wallet", "trade"], include_body=True)]
    assert subs.keys() == {("announcement", "")}


def test_public_and_private_split_keep_the_format() -> None:
    subs = SubscriptionSet(
        [ticker("KRW-BTC"), my_order(), my_asset(), trade("KRW-ETH")], format="SIMPLE"
    )
    assert subs.public() == SubscriptionSet(
        [ticker("KRW-BTC"), trade("KRW-ETH")], format=Format.SIMPLE
    )
    assert subs.private() == SubscriptionSet([my_order(), my_asset()], format=Format.SIMPLE)
    assert subs.public().keys() | subs.private().keys() == subs.keys()


def test_copy_is_independent() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC")])
    copy = subs.copy()
    assert copy == subs
    copy.add(trade("KRW-BTC"))
    copy.format = Format.JSON_LIST
    assert subs.keys() == {("ticker", "KRW-BTC")}
    assert subs.format is Format.DEFAULT


def test_equality_ignores_order_but_not_format_or_options() -> None:
    a = SubscriptionSet([ticker("KRW-BTC"), trade("KRW-ETH")])
    b = SubscriptionSet([trade("KRW-ETH"), ticker("KRW-BTC")])
    assert a == b
    assert a != SubscriptionSet([ticker("KRW-BTC"), trade("KRW-ETH")], format=Format.SIMPLE)
    assert a != SubscriptionSet([ticker("KRW-BTC"), trade("KRW-ETH", is_only_realtime=True)])
    assert a != [ticker("KRW-BTC"), trade("KRW-ETH")]
    with pytest.raises(TypeError):
        hash(a)


def test_add_rejects_non_subscriptions() -> None:
    with pytest.raises(TypeError):
        SubscriptionSet().add("ticker")  # type: ignore[arg-type]


# --- parsing ---------------------------------------------------------------------------


def test_parse_splits_orderbook_codes_by_depth() -> None:
    raw = '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.15","KRW-ETH","krw-xrp.15"]}]'
    subs = parse_request(raw).subscriptions
    assert subs == SubscriptionSet(
        [orderbook("KRW-BTC", "KRW-XRP", depth=15), orderbook("KRW-ETH")]
    )


def test_parse_accepts_string_level_numeric_ticket_and_format_in_the_middle() -> None:
    raw = (
        '[{"ticket":7},{"format":"JSON_LIST"},'
        '{"type":"orderbook","codes":["KRW-BTC"],"level":"0.1"}]'
    )
    parsed = parse_request(raw)
    assert parsed.ticket == "7"
    assert parsed.subscriptions == SubscriptionSet(
        [orderbook("KRW-BTC", level=Decimal("0.1"))], format=Format.JSON_LIST
    )


def test_parse_later_object_wins_for_the_same_code() -> None:
    raw = (
        b'[{"ticket":"t"},{"type":"ticker","codes":["KRW-BTC"]},'
        b'{"type":"ticker","codes":["KRW-BTC"],"is_only_snapshot":true}]'
    )
    subs = parse_request(raw).subscriptions
    assert subs == SubscriptionSet([ticker("KRW-BTC", is_only_snapshot=True)])


@pytest.mark.parametrize(
    ("raw", "name", "fix"),
    [
        ("hello", "WRONG_FORMAT", "send a JSON array"),
        ('{"ticket":"t"}', "WRONG_FORMAT", "JSON array"),
        ("[]", "WRONG_FORMAT", "non-empty JSON array"),
        ('[{"type":"ticker","codes":["KRW-BTC"]}]', "NO_TICKET", '{"ticket": "..."}'),
        ('[{"ticket":""},{"type":"ticker","codes":["KRW-BTC"]}]', "NO_TICKET", "non-empty"),
        ('[{"ticket":"t"},{"codes":["KRW-BTC"]}]', "NO_TYPE", "needs 'type'"),
        ('[{"ticket":"t"}]', "NO_TYPE", "add e.g. a ticker"),
        ('[{"ticket":"t"},{"type":"ticker"}]', "NO_CODES", '"codes": ["KRW-BTC"]'),
        ('[{"ticket":"t"},{"type":"ticker","codes":[]}]', "INVALID_PARAM", "at least one code"),
        ('[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]', "INVALID_PARAM", "use one of"),
        ('[{"ticket":"t"},{"type":"myAsset","codes":[]}]', "WRONG_FORMAT", "not even []"),
        ('[{"ticket":"t"},{"type":"ticker","codes":"KRW-BTC"}]', "WRONG_FORMAT", "JSON array"),
        ('[{"ticket":"t"},{"type":"ticker","codes":["KRW-BTC"],"x":1}]', "WRONG_FORMAT", "'x'"),
        ('[{"ticket":"t"},"ticker"]', "WRONG_FORMAT", "not an object"),
    ],
)
def test_parse_errors_carry_upbit_names(raw: str, name: str, fix: str) -> None:
    with pytest.raises(SubscriptionError) as info:
        parse_request(raw)
    assert info.value.name == name
    assert fix in str(info.value)


@pytest.mark.parametrize(
    ("raw", "fix"),
    [
        ('[{"ticket":"t","format":"SIMPLE"},{"type":"ticker","codes":["KRW-BTC"]}]', "separately"),
        ('[{"ticket":"t"},{"method":"LIST"}]', "use 'LIST_SUBSCRIPTIONS'"),
        (
            '[{"ticket":"t"},{"method":"LIST_SUBSCRIPTIONS"},{"type":"ticker","codes":["KRW-A"]}]',
            "cannot be combined",
        ),
        ('[{"ticket":"t"},{"format":"SIMPLE"},{"format":"DEFAULT"}]', "send one"),
        ('[{"ticket":"t"},{"type":"ticker","codes":["KRW-A"]},{"format":"FAST"}]', "use one of"),
        (
            '[{"ticket":"t"},{"type":"trade","codes":["KRW-A"],'
            '"is_only_realtime":true,"isOnlyRealtime":false}]',
            "send one of them",
        ),
    ],
)
def test_parse_rejects_malformed_requests(raw: str, fix: str) -> None:
    with pytest.raises(SubscriptionError) as info:
        parse_request(raw)
    assert fix in str(info.value)


# --- module hygiene --------------------------------------------------------------------


def test_module_is_sans_io() -> None:
    source = Path(mod.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"asyncio", "aiohttp", "time", "random", "uuid", "socket"})


def test_all_names_exist() -> None:
    assert all(hasattr(mod, name) for name in mod.__all__)


# --- properties ------------------------------------------------------------------------

KRW_CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-1INCH"]
OTHER_CODES = ["BTC-ETH", "BTC-1INCH", "USDT-BTC"]
CANDLES = [f"candle.{unit}" for unit in CANDLE_UNITS]


def _spelled(codes: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(codes).flatmap(
        lambda c: st.sampled_from([c, c.lower(), f" {c} ", c.title()])
    )


FLAGS = st.sampled_from([{}, {"is_only_snapshot": True}, {"is_only_realtime": True}])
LEVELS = st.sampled_from(["0", "10000", "0.1", "1000", "0.0000001", "1E+4", "100000000"])


def _codes(pool: list[str], min_size: int = 1) -> st.SearchStrategy[list[str]]:
    return st.lists(_spelled(pool), min_size=min_size, max_size=4)


SUBSCRIPTIONS: st.SearchStrategy[Subscription] = st.one_of(
    st.builds(
        lambda t, codes, flags: Subscription(t, tuple(codes), **flags),
        st.sampled_from(["ticker", "trade", *CANDLES]),
        _codes(KRW_CODES + OTHER_CODES),
        FLAGS,
    ),
    st.builds(
        lambda codes, depth, flags: orderbook(*codes, depth=depth, **flags),
        _codes(KRW_CODES + OTHER_CODES),
        st.none() | st.sampled_from(ORDERBOOK_DEPTHS),
        FLAGS,
    ),
    st.builds(
        lambda codes, depth, level: orderbook(*codes, depth=depth, level=level),
        _codes(KRW_CODES),
        st.none() | st.sampled_from(ORDERBOOK_DEPTHS),
        LEVELS,
    ),
    st.builds(lambda codes: my_order(*codes), _codes(KRW_CODES + OTHER_CODES, min_size=0)),
    st.just(my_asset()),
    st.builds(
        announcement,
        st.none() | st.lists(st.sampled_from(ANNOUNCEMENT_CATEGORIES), min_size=1, max_size=4),
        st.none() | st.booleans(),
    ),
)
SETS = st.builds(
    lambda subs, fmt: SubscriptionSet(subs, format=fmt),
    st.lists(SUBSCRIPTIONS, min_size=1, max_size=8),
    st.sampled_from(Format),
)
TICKETS = st.text(min_size=1, max_size=20)


@given(SETS, TICKETS)
def test_property_render_parse_round_trip(subs: SubscriptionSet, ticket: str) -> None:
    wire = render_request(subs, ticket)
    parsed = parse_request(wire)
    assert parsed.ticket == ticket
    assert parsed.subscriptions == subs
    assert parsed.format is subs.format
    assert render_request(parsed.subscriptions, ticket) == wire  # byte-stable


@given(SETS, TICKETS)
def test_property_rendered_shape(subs: SubscriptionSet, ticket: str) -> None:
    items = rendered(subs, ticket)
    assert items[0] == {"ticket": ticket}
    assert items[-1] == {"format": subs.format.value}
    body = items[1:-1]
    assert len(body) == len(subs) == len(list(subs))
    pairs = [(obj["type"], code.split(".")[0]) for obj in body for code in obj.get("codes") or [""]]
    assert len(pairs) == len(set(pairs)) == len(subs.keys())
    assert set(pairs) == subs.keys()
    for obj in body:
        if obj["type"] in PUBLIC_TYPES:
            assert obj["codes"]
        elif obj["type"] == "myOrder":
            assert obj.get("codes", ["KRW-BTC"])  # absent (all markets) or non-empty
        else:
            assert "codes" not in obj
        assert all(code == code.strip().upper() for code in obj.get("codes", []))


@given(st.lists(SUBSCRIPTIONS, min_size=1, max_size=8))
def test_property_add_matches_a_reference_model(subs: list[Subscription]) -> None:
    model: dict[tuple[str, str], Subscription] = {}
    for sub in subs:
        if sub.type == "myOrder" and not sub.codes:
            model = {k: v for k, v in model.items() if k[0] != "myOrder"}
        elif sub.type == "myOrder" and ("myOrder", "") in model:
            continue
        for code in sub.codes or ("",):
            model[sub.type, code] = dataclasses.replace(sub, codes=(code,) if code else ())
    actual = SubscriptionSet(subs)
    assert actual.keys() == set(model)
    for merged in actual:
        for code in merged.codes or ("",):
            assert model[merged.type, code] == dataclasses.replace(
                merged, codes=(code,) if code else ()
            )


@given(SETS, st.data())
def test_property_remove_drops_exactly_that_key(subs: SubscriptionSet, data: st.DataObject) -> None:
    before = subs.keys()
    removable = sorted(key for key in before if key[1])
    if not removable:
        return
    key = data.draw(st.sampled_from(removable))
    subs.remove(key[0], key[1].lower())
    assert subs.keys() == before - {key}


def test_the_set_repr_shows_the_subscriptions_and_the_format() -> None:
    subs = SubscriptionSet([ticker("KRW-BTC")], format=Format.SIMPLE)
    assert repr(subs) == (
        "SubscriptionSet([Subscription(type='ticker', codes=('KRW-BTC',), depth=None, "
        "level=None, is_only_snapshot=False, is_only_realtime=False, categories=None, "
        "include_body=None)], format='SIMPLE')"
    )
