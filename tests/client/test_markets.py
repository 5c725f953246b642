"""``upbitws.markets()`` and the subscription check, against the simulator's REST."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import upbitws
from upbitws.client.markets import parse_markets
from upbitws.protocol.markets import check_subscriptions

if TYPE_CHECKING:
    from simfactory import SimFactory


async def test_markets_returns_names_flags_and_filters_by_quote(make_sim: SimFactory) -> None:
    sim = await make_sim(markets=["KRW-BTC", "BTC-ETH", "USDT-BTC"])
    found = await upbitws.markets(url=sim.ws_url)
    assert [m.code for m in found] == ["KRW-BTC", "BTC-ETH", "USDT-BTC"]
    btc = found[0]
    assert (btc.english_name, btc.quote, btc.base) == ("Bitcoin", "KRW", "BTC")
    assert btc.korean_name
    assert btc.warning is False
    assert btc.cautions == ()
    krw = await upbitws.markets(url=sim.url, quote="krw")
    assert [m.code for m in krw] == ["KRW-BTC"]


async def test_markets_names_the_url_when_rest_is_down() -> None:
    with pytest.raises(upbitws.UpbitWSError, match=r"GET http://127\.0\.0\.1:9/v1/market/all"):
        await upbitws.markets(url="ws://127.0.0.1:9/websocket/v1")


def test_check_names_unknown_codes_and_unsupported_levels() -> None:
    subs = [upbitws.trade("KRW-BTC", "KRW-NOPE"), upbitws.ticker("KRW-NOPE")]
    with pytest.raises(upbitws.SubscriptionError, match=r"'KRW-NOPE' \(trade/ticker\)"):
        check_subscriptions(subs, {"KRW-BTC"}, {})
    book = [upbitws.orderbook("KRW-BTC", level=7)]
    levels = {"KRW-BTC": (Decimal(0), Decimal(10000), Decimal("100000"))}
    with pytest.raises(upbitws.SubscriptionError, match="level 7 is not supported for KRW-BTC"):
        check_subscriptions(book, {"KRW-BTC"}, levels)
    check_subscriptions([upbitws.orderbook("KRW-BTC", level=10000)], {"KRW-BTC"}, levels)
    check_subscriptions(book, {"KRW-BTC"}, {})  # levels unknown: not checked


async def test_an_unknown_code_fails_fast_naming_it(make_sim: SimFactory) -> None:
    sim = await make_sim()
    stream = upbitws.connect([upbitws.trade("KRW-BTC", "KRW-NOPE")], url=sim.ws_url)
    with pytest.raises(upbitws.SubscriptionError, match="KRW-NOPE"):
        async with stream:
            pytest.fail("the stream must not open")
    assert sim.stats()["connections_total"] == 0  # never connected


async def test_an_unsupported_level_fails_naming_it(make_sim: SimFactory) -> None:
    sim = await make_sim()
    subs = [upbitws.orderbook("KRW-BTC", level=3)]
    with pytest.raises(upbitws.SubscriptionError, match="level 3 is not supported for KRW-BTC"):
        async with upbitws.connect(subs, url=sim.ws_url):
            pytest.fail("the stream must not open")


async def test_subscribe_checks_and_keeps_the_stream(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with upbitws.connect([upbitws.ticker("KRW-BTC")], url=sim.ws_url) as stream:
        with pytest.raises(upbitws.SubscriptionError, match="KRW-NOPE"):
            await stream.subscribe(upbitws.trade("KRW-NOPE"))
        assert all("KRW-NOPE" not in s.codes for s in stream.subscriptions)
        await stream.subscribe(upbitws.orderbook("KRW-ETH", level=10000))
        m = await anext(stream)
        assert m.code in ("KRW-BTC", "KRW-ETH")


async def test_rest_down_proceeds_with_a_warning(
    make_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await make_sim()
    subs = [upbitws.ticker("KRW-BTC")]
    with caplog.at_level(logging.WARNING, logger="upbitws"):
        async with upbitws.connect(subs, url=sim.ws_url, rest_url="http://127.0.0.1:9") as s:
            m = await anext(s)
    assert m.code == "KRW-BTC"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("could not check the subscriptions" in w for w in warnings), warnings


async def test_check_markets_false_skips_the_check(make_sim: SimFactory) -> None:
    sim = await make_sim()
    subs = [upbitws.ticker("KRW-BTC", "KRW-NOPE")]
    async with upbitws.connect(subs, url=sim.ws_url, check_markets=False) as stream:
        m = await anext(stream)
    assert m.code == "KRW-BTC"
    assert sim.stats()["rest_requests"] == 0


async def test_the_lists_are_fetched_once_per_stream(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with upbitws.connect([upbitws.ticker("KRW-BTC")], url=sim.ws_url) as stream:
        after_connect = sim.stats()["rest_requests"]
        assert after_connect == 1  # the market list
        await stream.subscribe(upbitws.trade("KRW-ETH"))  # known from the cached list
        assert sim.stats()["rest_requests"] == after_connect
        await stream.subscribe(upbitws.orderbook("KRW-ETH", level=10000))  # levels: once
        await stream.subscribe(upbitws.orderbook("KRW-ETH", level=100000))
        assert sim.stats()["rest_requests"] == after_connect + 1


def test_documented_answer_decodes_with_warning_and_cautions() -> None:
    """Upbit's documented ``is_details=true`` sample (tests/data), and a caution set on it."""
    body = (Path(__file__).parent.parent / "data" / "rest_market_all_is_details.json").read_bytes()
    btc, eth = parse_markets(body)
    assert (btc.code, btc.korean_name, btc.warning, btc.cautions) == (
        "KRW-BTC",
        "비트코인",
        False,
        (),
    )
    assert (eth.code, eth.warning) == ("KRW-ETH", True)
    flagged = body.replace(b'"PRICE_FLUCTUATIONS": false', b'"PRICE_FLUCTUATIONS": true', 1)
    assert parse_markets(flagged)[0].cautions == ("PRICE_FLUCTUATIONS",)
    basic = (Path(__file__).parent.parent / "data" / "rest_market_all_basic.json").read_bytes()
    assert all(not m.warning and m.cautions == () for m in parse_markets(basic))
