"""Rate limits: connects 5/s per IP or access key, messages 5/s and 100/min (§7); REST (§10)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import aiohttp
import pytest

from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Simulator

from ._wire import collect, expect_error, recv_json, req, token

if TYPE_CHECKING:
    from .conftest import SimFactory

SUB = {"type": "ticker", "codes": ["KRW-BTC"]}


async def test_connect_limit_answers_429(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim()
    async with AsyncExitStack() as stack:
        for _ in range(5):
            await stack.enter_async_context(http.ws_connect(sim.ws_url))
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await stack.enter_async_context(http.ws_connect(sim.ws_url))
    assert info.value.status == 429
    assert info.value.headers is not None
    assert int(info.value.headers["Retry-After"]) >= 1
    await asyncio.sleep(1.05)  # the window has passed: accepted again
    async with http.ws_connect(sim.ws_url) as ws:
        assert not ws.closed


async def test_connect_limit_is_per_access_key_with_a_jwt(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    """Authenticated upgrades count per access key (pocket), not per IP (§7)."""
    sim = await make_sim()
    async with AsyncExitStack() as stack:
        for _ in range(5):
            await stack.enter_async_context(http.ws_connect(sim.ws_url))
        headers = {"Authorization": f"Bearer {token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)}"}
        ws = await stack.enter_async_context(http.ws_connect(sim.private_ws_url, headers=headers))
        assert not ws.closed


async def test_connect_limit_answered_with_a_frame(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(rate_limit_answer="frame", connect_limit=1)
    async with http.ws_connect(sim.ws_url), http.ws_connect(sim.ws_url) as second:
        await expect_error(second, "TOO_MANY_REQUESTS")


async def test_message_limit_per_second(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        for _ in range(6):  # the 6th within a second is over 5/s
            await ws.send_str(req(SUB))
        await expect_error(ws, "TOO_MANY_REQUESTS")


async def test_message_limit_per_minute(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """The second window (100/min on Upbit) shrunk to 3/min so the test need not wait."""
    sim = await make_sim(message_limits=((100, 1.0), (3, 60.0)))
    async with http.ws_connect(sim.ws_url) as ws:
        for _ in range(4):
            await ws.send_str(req(SUB))
        await expect_error(ws, "TOO_MANY_REQUESTS")


async def test_message_limit_ignore_mode_and_text_ping_not_counted(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(message_limit_answer="ignore", status_interval=1e6)
    async with http.ws_connect(sim.ws_url) as ws:
        for _ in range(3):
            await ws.send_str("PING")  # not counted (§14.12 choice)
        for i in range(6):
            await ws.send_str(req({"type": "ticker", "codes": ["KRW-BTC" if i < 5 else "KRW-ETH"]}))
        frames = await collect(ws, 0.4)
    assert frames
    assert all("error" not in f for f in frames)
    assert all(f["code"] == "KRW-BTC" for f in frames)  # the 6th request was dropped
    assert sim.stats()["rate_limited"] == 1


async def test_rest_rate_limit(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """Quotation REST: 10/s per IP and group -> 429; Remaining-Req on every reply (§10)."""
    sim = await make_sim()
    statuses = []
    remaining = []
    for _ in range(11):
        async with http.get(f"{sim.url}/v1/trades/ticks", params={"market": "KRW-BTC"}) as r:
            statuses.append(r.status)
            remaining.append(r.headers["Remaining-Req"])
            await r.read()
    assert statuses == [200] * 10 + [429]
    assert remaining[0] == "group=trade; min=600; sec=9"
    assert remaining[9].endswith("sec=0")
    async with http.get(f"{sim.url}/v1/market/all") as r:  # another group: its own budget
        assert r.status == 200
    async with http.get(f"{sim.url}/v1/trades/ticks", params={"market": "KRW-BTC"}) as r:
        body = await r.json()
        assert r.status == 429
        assert body["error"]["name"] == 429
        assert int(r.headers["Retry-After"]) >= 1


async def test_first_frames_after_limit_window(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    async with http.ws_connect(sim.ws_url) as ws:
        for _ in range(5):
            await ws.send_str(req(SUB))
        await asyncio.sleep(1.05)
        await ws.send_str(req(SUB))  # a new second: allowed
        frame = await recv_json(ws)
        assert "error" not in frame
