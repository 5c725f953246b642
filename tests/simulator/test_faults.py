"""Fault knobs, through the control route and in process (faults.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from upbitws.simulator import Simulator

from ._wire import collect, expect_abort, expect_close, recv, recv_json, req
from .conftest import SimFactory

SUB = {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH", "KRW-XRP"]}


async def fault(http: aiohttp.ClientSession, sim: Simulator, **body: Any) -> dict[str, Any]:
    async with http.post(f"{sim.url}/_sim/faults", json=body) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = await r.json()
        return result


async def streaming(
    http: aiohttp.ClientSession, sim: Simulator, **kw: Any
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(sim.ws_url, **kw)
    await ws.send_str(req(SUB))
    await recv_json(ws)
    return ws


@pytest.fixture
async def fsim(make_sim: SimFactory) -> Simulator:
    return await make_sim(trade_rate=5.0, connect_limit=None)


async def test_drop_is_abrupt(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    async with await streaming(http, fsim) as ws:
        assert (await fault(http, fsim, kind="drop"))["connections"] == 1
        await expect_abort(ws)


@pytest.mark.parametrize(("kind", "code"), [("drop", 4000), ("close", None), ("close", 1011)])
async def test_close_with_a_code(
    fsim: Simulator, http: aiohttp.ClientSession, kind: str, code: int | None
) -> None:
    async with await streaming(http, fsim) as ws:
        body: dict[str, Any] = {"kind": kind} if code is None else {"kind": kind, "code": code}
        await fault(http, fsim, **body)
        await expect_close(ws, code or 1000)


async def test_half_open(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    """No pongs, no data, socket open; clearing the fault resumes both."""
    async with await streaming(http, fsim, autoping=False) as ws:
        await fault(http, fsim, kind="half_open")
        await collect(ws, 0.1)  # frames already in flight
        await ws.ping(b"hello")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.4)
        assert not ws.closed
        async with http.delete(f"{fsim.url}/_sim/faults") as r:
            assert r.status == 200
        await ws.ping(b"again")
        kinds = set()
        for _ in range(50):
            msg = await recv(ws)
            kinds.add(msg.type)
            if {aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.BINARY} <= kinds:
                break
        assert {aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.BINARY} <= kinds


async def test_silence(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    """Pongs keep coming; data does not."""
    async with await streaming(http, fsim, autoping=False) as ws:
        await fault(http, fsim, kind="silence")
        await collect(ws, 0.1)
        await ws.ping(b"still there?")
        msg = await recv(ws, 1.0)
        assert msg.type == aiohttp.WSMsgType.PONG
        assert msg.data == b"still there?"
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.4)


async def test_malformed_then_normal(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    async with await streaming(http, fsim) as ws:
        fsim.apply_fault("malformed")
        bad = 0
        good_after = 0
        for _ in range(200):
            msg = await recv(ws)
            assert msg.type == aiohttp.WSMsgType.BINARY
            try:
                json.loads(msg.data)
            except json.JSONDecodeError:
                bad += 1
                continue
            if bad:
                good_after += 1
                if good_after == 3:
                    break
        assert bad == 1
        assert good_after == 3


async def test_text_frames(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    async with await streaming(http, fsim) as ws:
        fsim.apply_fault("text_frames")
        seen = []
        for _ in range(100):
            msg = await recv(ws)
            seen.append(msg.type)
            if msg.type == aiohttp.WSMsgType.TEXT:
                json.loads(msg.data)
                break
        assert seen[-1] == aiohttp.WSMsgType.TEXT


@pytest.mark.parametrize(("status", "retry"), [(429, "3"), (418, "1"), (401, None)])
async def test_reject_upgrade(
    fsim: Simulator, http: aiohttp.ClientSession, status: int, retry: str | None
) -> None:
    body: dict[str, Any] = {
        "kind": "reject_upgrade",
        "status": status,
        "target": "next",
        "next_n": 2,
    }
    if status == 429:
        body["retry_after"] = 3
    await fault(http, fsim, **body)
    for _ in range(2):
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            async with http.ws_connect(fsim.ws_url):
                pass
        assert info.value.status == status
        assert info.value.headers is not None
        assert info.value.headers.get("Retry-After") == retry
    async with http.ws_connect(fsim.ws_url) as ws:  # the third is accepted
        assert not ws.closed


async def test_reject_all_upgrades_until_cleared(
    fsim: Simulator, http: aiohttp.ClientSession
) -> None:
    fsim.apply_fault("reject_upgrade", status=418)
    for _ in range(3):
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with http.ws_connect(fsim.ws_url):
                pass
    fsim.clear_faults()
    async with http.ws_connect(fsim.ws_url) as ws:
        assert not ws.closed


async def test_close_after_n_messages(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(fsim.ws_url) as ws:
        assert fsim.apply_fault("close_after", count=5, code=4001) == 1
        await ws.send_str(req(SUB))
        received = 0
        while True:
            msg = await recv(ws)
            if msg.type != aiohttp.WSMsgType.BINARY:
                break
            received += 1
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == 4001
        assert received == 5


async def test_next_connections_only(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    """target=next: live connections are untouched; the next N get the fault."""
    async with await streaming(http, fsim) as live:
        result = await fault(http, fsim, kind="drop", target="next", next_n=1)
        assert result["connections"] == 0
        async with http.ws_connect(fsim.ws_url) as doomed:
            await expect_abort(doomed)
        async with http.ws_connect(fsim.ws_url) as fine:
            await fine.send_str(req(SUB))
            assert (await recv_json(fine))["type"] == "trade"
        assert (await recv_json(live))["type"] == "trade"


async def test_bad_fault_is_400(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    for body in ({"kind": "explode"}, {"kind": "close", "code": 99}, {"kind": "drop", "x": 1}, []):
        async with http.post(f"{fsim.url}/_sim/faults", json=body) as r:
            assert r.status == 400
            assert (await r.json())["error"]["name"] == "invalid_fault"


async def test_stats(fsim: Simulator, http: aiohttp.ClientSession) -> None:
    async with await streaming(http, fsim), http.get(f"{fsim.url}/_sim/stats") as r:
        stats = await r.json()
    assert stats["connections"] == 1
    assert stats["subscriptions"] == 3
    assert stats["messages_sent"] >= 1
    assert stats["connections_total"] == 1
