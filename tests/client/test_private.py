"""Private streams end to end: JWT per connection, myOrder / myAsset through their
states, one stream over both endpoints, errors that help, and no secret anywhere."""

from __future__ import annotations

import asyncio
import logging
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
from upbitws import (
    AuthenticationError,
    Credentials,
    CredentialsError,
    MyAsset,
    MyOrder,
    Reconnected,
    Ticker,
)
from upbitws.models import OrderState
from upbitws.simulator.catalog import floor_to

from .conftest import FAST, SimFactory, until

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

ACCESS = "AK" + secrets.token_hex(19)  # 40 characters, like Upbit's keys
SECRET = "SK" + secrets.token_hex(19)


class RecordingCredentials(Credentials):
    """Credentials that remember every token they minted (to search logs for them)."""

    __slots__ = ("tokens",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: list[str] = []

    def token(self) -> str:
        token = super().token()
        self.tokens.append(token)
        return token


@pytest.fixture
async def psim(make_sim: SimFactory) -> Simulator:
    return await make_sim(access_key=ACCESS, secret_key=SECRET)


def _marketable_bid_price(sim: Simulator) -> Decimal:
    book = sim.exchange.markets["KRW-BTC"]
    return floor_to(book.ask * Decimal("1.02"), Decimal(1000))


def _resting_bid_price(sim: Simulator) -> Decimal:
    book = sim.exchange.markets["KRW-BTC"]
    return floor_to(book.bid * Decimal("0.5"), Decimal(1000))


async def _states(stream: upbitws.Stream, uuid: str, final: OrderState) -> list[Any]:
    seen = await until(
        stream, lambda m: isinstance(m, MyOrder) and m.uuid == uuid and m.state == final
    )
    return [m for m in seen if isinstance(m, MyOrder) and m.uuid == uuid]


async def test_orders_produce_my_order_states_and_my_asset_balances(psim: Simulator) -> None:
    creds = Credentials(ACCESS, SECRET)
    subs = [upbitws.my_order(), upbitws.my_asset()]
    async with upbitws.connect(subs, url=psim.ws_url, credentials=creds, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, upbitws.Connected))
        await asyncio.sleep(0.1)  # private types have no snapshot: let the request land
        filled = psim.place_order("KRW-BTC", "bid", "limit", _marketable_bid_price(psim), "0.001")
        seen = await until(
            stream, lambda m: isinstance(m, MyOrder) and m.uuid == filled and m.state == "done"
        )
        orders = [m for m in seen if isinstance(m, MyOrder) and m.uuid == filled]
        assert orders[0].state == OrderState.WAIT
        assert OrderState.TRADE in [o.state for o in orders]
        fill = next(o for o in orders if o.state == OrderState.TRADE)
        assert fill.trade_uuid is not None
        assert fill.is_maker is not None

        def has_btc(m: object) -> bool:
            return isinstance(m, MyAsset) and any(a.currency == "BTC" for a in m.assets)

        # myAsset lists the currencies whose balance changed (protocol §4.7)
        if not any(has_btc(m) for m in seen):
            seen += await until(stream, has_btc)
        btc = next(a for m in seen if has_btc(m) for a in m.assets if a.currency == "BTC")
        assert btc.balance > Decimal(1)  # the simulated account starts with 1 BTC

        resting = psim.place_order("KRW-BTC", "bid", "limit", _resting_bid_price(psim), "0.001")
        await until(stream, lambda m: isinstance(m, MyOrder) and m.uuid == resting)
        psim.cancel_order(resting)
        orders = await _states(stream, resting, OrderState.CANCEL)
        assert [o.state for o in orders][-1] == OrderState.CANCEL


async def test_one_stream_over_both_endpoints_and_a_reconnect_mints_a_new_token(
    psim: Simulator,
) -> None:
    creds = RecordingCredentials(ACCESS, SECRET)
    subs = [upbitws.ticker("KRW-BTC"), upbitws.my_order("KRW-BTC")]
    async with upbitws.connect(subs, url=psim.ws_url, credentials=creds, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Ticker))
        assert {c.endpoint for c in stream.stats().connections} == {"public", "private"}
        psim.apply_fault("drop")  # both connections drop
        await until(stream, lambda m: isinstance(m, Reconnected) and m.endpoint == "private")
        await asyncio.sleep(0.1)
        uuid = psim.place_order("KRW-BTC", "bid", "limit", _resting_bid_price(psim), "0.001")
        await until(stream, lambda m: isinstance(m, MyOrder) and m.uuid == uuid)
    # one token per private connection attempt, never reused (the simulator refuses reuse)
    assert len(creds.tokens) == 2
    assert len(set(creds.tokens)) == 2


@pytest.mark.parametrize("failure", ["frame", "http"])
async def test_a_wrong_secret_ends_the_stream_with_the_documented_error(
    make_sim: SimFactory, failure: str
) -> None:
    sim = await make_sim(access_key=ACCESS, secret_key=SECRET, auth_failure=failure)
    wrong = Credentials(ACCESS, "SK" + secrets.token_hex(19))
    async with upbitws.connect(upbitws.my_asset(), url=sim.ws_url, credentials=wrong, **FAST) as s:
        with pytest.raises(AuthenticationError) as info:
            await until(s, lambda m: False)
    text = str(info.value)
    for cause in ("matching pair", "allow-list", "자산조회"):
        assert cause in text
    assert sim.stats()["connections_total"] + sim.stats()["rejected_upgrades"] == 1  # no retry


async def test_a_token_for_another_key_is_refused(psim: Simulator) -> None:
    other = Credentials("AK" + secrets.token_hex(19), SECRET)
    async with upbitws.connect(upbitws.my_order(), url=psim.ws_url, credentials=other, **FAST) as s:
        with pytest.raises(AuthenticationError):
            await until(s, lambda m: False)


async def test_hs512_is_accepted(psim: Simulator) -> None:
    creds = Credentials(ACCESS, SECRET, algorithm="HS512")
    async with upbitws.connect(upbitws.my_order(), url=psim.ws_url, credentials=creds, **FAST) as s:
        await until(s, lambda m: isinstance(m, upbitws.Connected))
        await asyncio.sleep(0.1)
        uuid = psim.place_order("KRW-BTC", "bid", "limit", _resting_bid_price(psim), "0.001")
        await until(s, lambda m: isinstance(m, MyOrder) and m.uuid == uuid)


def test_missing_credentials_fail_before_connecting() -> None:
    with pytest.raises(CredentialsError, match="UPBIT_OPEN_API_ACCESS_KEY"):
        upbitws.connect(upbitws.my_asset(), url="ws://127.0.0.1:9/websocket/v1")
    with pytest.raises(CredentialsError, match="UPBIT_OPEN_API_SECRET_KEY"):
        Credentials.from_env({"UPBIT_OPEN_API_ACCESS_KEY": ACCESS})


def test_an_unsupported_algorithm_is_rejected() -> None:
    with pytest.raises(CredentialsError, match="HS256"):
        Credentials(ACCESS, SECRET, algorithm="none")  # type: ignore[arg-type]


async def test_no_secret_token_or_access_key_in_debug_logs_errors_or_reprs(
    psim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    creds = RecordingCredentials(ACCESS, SECRET)
    try:
        with caplog.at_level(logging.DEBUG):
            subs = [upbitws.my_order(), upbitws.my_asset()]
            async with upbitws.connect(subs, url=psim.ws_url, credentials=creds, **FAST) as stream:
                await until(stream, lambda m: isinstance(m, upbitws.Connected))
                psim.apply_fault("drop")
                seen = await until(stream, lambda m: isinstance(m, Reconnected))
                texts += [repr(x) for x in seen] + [repr(stream), repr(stream.stats())]
                texts.append(stream.stats().summary())
            wrong = RecordingCredentials(ACCESS, "SK" + secrets.token_hex(19))
            texts.append(repr(wrong))
            async with upbitws.connect(
                upbitws.my_order(), url=psim.ws_url, credentials=wrong, **FAST
            ) as stream:
                with pytest.raises(AuthenticationError) as info:
                    await until(stream, lambda m: False)
                texts += [str(info.value), repr(info.value), repr(stream.stats())]
    finally:
        root.setLevel(old_level)
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    haystack = "\n".join(texts)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG really was on
    assert creds.tokens
    assert wrong.tokens
    for needle in (SECRET, ACCESS, *creds.tokens, *wrong.tokens):
        assert needle not in haystack
