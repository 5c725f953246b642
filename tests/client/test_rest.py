"""The quotation REST client against the in-process simulator (loopback only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from upbitws.client.rest import RestClient, rest_base_url
from upbitws.exceptions import UpbitWSError
from upbitws.models import StreamType, Trade
from upbitws.models.recovered import RecoveredTrade
from upbitws.protocol.backfill import PageRequest
from upbitws.simulator import Simulator

if TYPE_CHECKING:
    from types import SimpleNamespace


@pytest.mark.parametrize(
    ("ws", "rest"),
    [
        ("wss://api.upbit.com/websocket/v1", "https://api.upbit.com"),
        ("wss://sg-api.upbit.com/websocket/v1", "https://sg-api.upbit.com"),
        ("ws://127.0.0.1:8123/websocket/v1", "http://127.0.0.1:8123"),
        ("WS://localhost:1/websocket/v1/private", "http://localhost:1"),
    ],
)
def test_rest_base_url_follows_the_websocket_url(ws: str, rest: str) -> None:
    assert rest_base_url(ws) == rest


class Harness:
    def __init__(self, sim: Simulator, session: aiohttp.ClientSession, order: list[str]) -> None:
        self.sim = sim
        self.session = session
        self.order = order


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    order: list[str] = []

    async def on_start(_s: Any, _ctx: SimpleNamespace, params: Any) -> None:
        order.append(params.url.query.get("market", ""))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with (
        Simulator(seed=3, markets=["KRW-BTC", "KRW-ETH", "KRW-XRP"], trade_rate=3.0) as sim,
        aiohttp.ClientSession(trace_configs=[trace]) as session,
    ):
        await asyncio.sleep(0.3)  # let the tape grow
        yield Harness(sim, session, order)


async def _with_client(client: RestClient, body: Any) -> Any:
    """Run ``body`` while the client's dispatcher runs in an owned TaskGroup."""
    try:
        async with asyncio.TaskGroup() as tg:
            dispatcher = tg.create_task(client.run())
            try:
                return await body
            finally:
                dispatcher.cancel()
    except ExceptionGroup as group:
        raise group.exceptions[0] from None


async def test_a_page_converts_to_recovered_trades_equal_to_the_live_ones(harness: Harness) -> None:
    client = RestClient(harness.session, harness.sim.url)
    page = await _with_client(client, client.trades(PageRequest("KRW-BTC", 50)))
    assert 0 < len(page) <= 50
    assert all(isinstance(t, RecoveredTrade) and isinstance(t, Trade) for t in page)
    assert [t.trade_timestamp for t in page] == sorted(
        (t.trade_timestamp for t in page), reverse=True
    )  # newest first
    live = {t.sequential_id: t for t in harness.sim.trades("KRW-BTC")}
    for t in page:
        ref = live[t.sequential_id]
        assert t.type == "trade"
        assert t.stream_type is StreamType.REALTIME
        assert t.best_ask_price is None
        assert t.timestamp == t.trade_timestamp == ref.trade_timestamp
        for name in (
            "code",
            "trade_price",
            "trade_volume",
            "ask_bid",
            "prev_closing_price",
            "change",
            "change_price",
            "trade_date",
            "trade_time",
        ):
            assert getattr(t, name) == getattr(ref, name), name


async def test_float_mode(harness: Harness) -> None:
    client = RestClient(harness.session, harness.sim.url, numbers="float")
    page = await _with_client(client, client.trades(PageRequest("KRW-ETH", 5)))
    assert page
    assert isinstance(page[0].trade_price, float)


async def test_codes_take_turns_one_page_each(harness: Harness) -> None:
    client = RestClient(harness.session, harness.sim.url, windows=((3, 0.5),))  # within the 10/s

    async def pages(code: str, n: int) -> None:
        for _ in range(n):
            await client.trades(PageRequest(code, 5))

    async def all_codes() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(pages("KRW-BTC", 6))
            tg.create_task(pages("KRW-ETH", 3))
            tg.create_task(pages("KRW-XRP", 3))

    await _with_client(client, all_codes())
    order = harness.order
    assert len(order) == 12
    # while all three wait, every code gets one page per turn
    assert sorted(order[:9]) == sorted(["KRW-BTC", "KRW-ETH", "KRW-XRP"] * 3)
    for i in range(0, 9, 3):
        assert len(set(order[i : i + 3])) == 3, order
    assert order[9:] == ["KRW-BTC"] * 3


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    async with (
        Simulator(seed=4, markets=["KRW-BTC"], rest_rate_limit=2) as sim,
        aiohttp.ClientSession() as session,
    ):
        await asyncio.sleep(0.3)
        client = RestClient(session, sim.url)  # believes 10/s: the server says 2/s

        async def five() -> list[int]:
            return [len(await client.trades(PageRequest("KRW-BTC", 3))) for _ in range(5)]

        loop = asyncio.get_running_loop()
        start = loop.time()
        sizes = await _with_client(client, five())
        assert all(n > 0 for n in sizes)
        assert client.stats.rate_limited >= 1
        assert loop.time() - start >= 0.9  # Retry-After: 1 (whole seconds)


async def test_unknown_code_fails_at_once(harness: Harness) -> None:
    client = RestClient(harness.session, harness.sim.url)
    with pytest.raises(UpbitWSError) as info:
        await _with_client(client, client.trades(PageRequest("KRW-NOPE", 5)))
    assert info.value.status_code == 404
    assert client.stats.requests == 1


async def test_unreachable_host_fails_after_bounded_retries() -> None:
    async with aiohttp.ClientSession() as session:
        client = RestClient(session, "http://127.0.0.1:9", max_attempts=2, timeout=1.0)
        with pytest.raises(UpbitWSError, match="kept failing"):
            await _with_client(client, client.trades(PageRequest("KRW-BTC", 5)))
        assert client.stats.failures == 2
