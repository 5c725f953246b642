"""Keep-alive: pong for every ping, never a server ping, text PING -> UP, idle timeout (§5)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import aiohttp

from ._wire import expect_abort, recv, req

if TYPE_CHECKING:
    from .conftest import SimFactory


async def test_pong_for_every_ping_and_no_server_ping(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    async with http.ws_connect(sim.ws_url, autoping=False) as ws:
        for i in range(5):
            await ws.ping(f"p{i}".encode())
        pongs = []
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            try:
                msg = await ws.receive(timeout=deadline - time.monotonic())
            except TimeoutError:
                break
            assert msg.type != aiohttp.WSMsgType.PING  # the server never pings (§5)
            if msg.type == aiohttp.WSMsgType.PONG:
                pongs.append(msg.data)
    assert pongs == [f"p{i}".encode() for i in range(5)]


async def test_text_ping_starts_status_up(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(status_interval=0.2)
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str("PING")
        started = time.monotonic()
        frames = []
        for _ in range(3):
            msg = await recv(ws, 1.0)
            assert msg.type == aiohttp.WSMsgType.BINARY
            frames.append(msg.data)
        elapsed = time.monotonic() - started
    assert frames == [b'{"status":"UP"}'] * 3
    assert 0.3 <= elapsed <= 0.9  # on a 0.2 s server tick


async def test_nothing_is_sent_before_a_request(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    """§2.2: after connect the server sends nothing until the client asks."""
    sim = await make_sim(trade_rate=5.0)
    async with http.ws_connect(sim.ws_url) as ws:
        try:
            msg = await ws.receive(timeout=0.3)
        except TimeoutError:
            msg = None
    assert msg is None


async def test_idle_timeout_aborts_without_close_frame(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    """Idle for idle_timeout: TCP abort, no close frame (client sees 1006), even while data
    is being sent (§5: only received frames reset the timer)."""
    sim = await make_sim(idle_timeout=0.5)
    async with http.ws_connect(sim.ws_url, autoping=False) as ws:
        await ws.send_str(req({"type": "trade", "codes": ["KRW-BTC"]}))
        started = time.monotonic()
        await expect_abort(ws)
        elapsed = time.monotonic() - started
    assert 0.45 <= elapsed <= 1.5
    assert sim.stats()["idle_timeouts"] == 1


async def test_pings_reset_the_idle_timer(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(idle_timeout=0.4)
    async with http.ws_connect(sim.ws_url) as ws:
        for _ in range(6):  # 0.9 s in all, well past the 0.4 s timeout
            await ws.ping()
            await asyncio.sleep(0.15)
        assert not ws.closed
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-BTC"]}))
        msg = await recv(ws)
        assert msg.type == aiohttp.WSMsgType.BINARY
