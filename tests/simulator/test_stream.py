"""Subscription semantics: snapshot then realtime, replace, formats, LIST_SUBSCRIPTIONS (§3–§4)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from upbitws.protocol.codec import decode

from ._wire import collect, items, kind, recv, recv_json, req, stream_type

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

    from .conftest import SimFactory

TRADES = {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]}


async def test_snapshot_then_realtime(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """Exactly one SNAPSHOT per (type, code), first, then REALTIME frames (§11.3)."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(TRADES, {"type": "ticker", "codes": ["KRW-BTC", "KRW-XRP"]}))
        frames = await collect(ws, 0.3)
    by_key: dict[tuple[str, str], list[str | None]] = {}
    for f in frames:
        by_key.setdefault(kind(f), []).append(stream_type(f))
    assert set(by_key) == {
        ("trade", "KRW-BTC"), ("trade", "KRW-ETH"), ("ticker", "KRW-BTC"), ("ticker", "KRW-XRP"),
    }  # fmt: skip
    for streams in by_key.values():
        assert streams[0] == "SNAPSHOT"
        assert streams.count("SNAPSHOT") == 1
        assert "REALTIME" in streams


@pytest.mark.parametrize(
    "flags",
    [
        {"is_only_snapshot": True},
        {"isOnlySnapshot": True},
        {"is_only_snapshot": True, "is_only_realtime": True},  # UNVERIFIED: snapshot wins
    ],
    ids=["snake", "camel", "both flags"],
)
async def test_only_snapshot(
    sim: Simulator, http: aiohttp.ClientSession, flags: dict[str, bool]
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({**TRADES, **flags}))
        frames = await collect(ws, 0.4)
    assert sorted(kind(f) for f in frames) == [("trade", "KRW-BTC"), ("trade", "KRW-ETH")]
    assert {stream_type(f) for f in frames} == {"SNAPSHOT"}


@pytest.mark.parametrize("flag", ["is_only_realtime", "isOnlyRealtime"])
async def test_only_realtime(sim: Simulator, http: aiohttp.ClientSession, flag: str) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({**TRADES, flag: True}))
        frames = await collect(ws, 0.4)
    assert frames
    assert {stream_type(f) for f in frames} == {"REALTIME"}


async def test_camel_case_can_be_ignored(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """UNVERIFIED (§14.4): with camel_case=False the legacy spelling has no effect."""
    sim = await make_sim(camel_case=False)
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({**TRADES, "isOnlyRealtime": True}))
        frames = await collect(ws, 0.3)
    assert "SNAPSHOT" in {stream_type(f) for f in frames}


async def test_replace_semantics(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """A new request replaces the whole set and the format (§3.5)."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(TRADES))
        assert kind(await recv_json(ws))[0] == "trade"
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-XRP"]}, fmt="SIMPLE"))
        frames = await collect(ws, 0.3)
    # 0-2 frames of the old set may still be in flight (§3.5); then only the new set.
    first_new = next(i for i, f in enumerate(frames) if kind(f) == ("ticker", "KRW-XRP"))
    after = frames[first_new:]
    assert {kind(f) for f in after} == {("ticker", "KRW-XRP")}
    assert all("ty" in f and "type" not in f for f in after)  # the format switched too
    assert stream_type(after[0]) == "SNAPSHOT"


@pytest.mark.parametrize(("resnapshot", "expected"), [(True, 1), (False, 0)])
async def test_resnapshot_on_replacement(
    make_sim: SimFactory, http: aiohttp.ClientSession, resnapshot: bool, expected: int
) -> None:
    """UNVERIFIED (§14.6): re-sent codes get a fresh SNAPSHOT unless resnapshot=False."""
    sim = await make_sim(resnapshot=resnapshot)
    one = {"type": "ticker", "codes": ["KRW-BTC"]}
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(one))
        assert stream_type(await recv_json(ws)) == "SNAPSHOT"
        await ws.send_str(req(one))
        frames = await collect(ws, 0.3)
    assert [stream_type(f) for f in frames].count("SNAPSHOT") == expected


async def test_no_format_object_means_default(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-BTC"]}, fmt="SIMPLE"))
        assert "ty" in await recv_json(ws)
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-ETH"]}))
        frames = await collect(ws, 0.3)
    eth = [f for f in frames if kind(f) == ("ticker", "KRW-ETH")]
    assert eth
    assert all("type" in f for f in eth)


@pytest.mark.parametrize("fmt", ["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"])
async def test_formats(sim: Simulator, http: aiohttp.ClientSession, fmt: str) -> None:
    """All four formats; every frame binary, and decodable by upbitws's codec (§4.1)."""
    sub = [
        TRADES,
        {"type": "orderbook", "codes": ["KRW-BTC.5"]},
        {"type": "candle.1s", "codes": ["KRW-BTC"]},
    ]
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(*sub, fmt=fmt))
        raw: list[bytes] = []
        while len(raw) < 30:
            msg = await recv(ws)
            assert msg.type == aiohttp.WSMsgType.BINARY
            raw.append(msg.data)
    frames = [json.loads(r) for r in raw]
    listy = fmt.endswith("_LIST")
    assert all(isinstance(f, list) == listy for f in frames)
    events = items(frames)
    simple = fmt.startswith("SIMPLE")
    assert all(("ty" in e) == simple and ("type" in e) != simple for e in events)
    decoded = [m for r in raw for m in decode(r)]
    assert len(decoded) == len(events)
    assert {m.type for m in decoded} >= {"trade", "orderbook"}


async def test_list_subscriptions(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """§4.10: the reply lists this connection's set; the set is unchanged."""
    sub = [
        {"type": "ticker", "codes": ["KRW-BTC", "KRW-ETH"]},
        {"type": "orderbook", "codes": ["KRW-BTC", "KRW-ETH"]},
    ]
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(*sub))
        await ws.send_str(json.dumps([{"ticket": "unique uuid"}, {"method": "LIST_SUBSCRIPTIONS"}]))
        frames = await collect(ws, 0.3)
    replies = [f for f in frames if "method" in f]
    assert replies == [json.loads(_data("list_subscriptions_default_public.json"))]
    after = frames[frames.index(replies[0]) + 1 :]
    assert {kind(f)[0] for f in after} >= {"ticker"}


async def test_format_switch_via_list_subscriptions(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A LIST_SUBSCRIPTIONS carrying a format switches the running streams (§3.1, §11.16)."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(TRADES))
        assert "type" in await recv_json(ws)
        await ws.send_str(req({"method": "LIST_SUBSCRIPTIONS"}, fmt="SIMPLE_LIST"))
        frames = await collect(ws, 0.3)
    reply_at = next(i for i, f in enumerate(frames) if isinstance(f, dict) and "mthd" in f)
    reply = frames[reply_at]
    assert reply["rslt"] == [{"ty": "trade", "cds": ["KRW-BTC", "KRW-ETH"]}]
    assert reply["tckt"] == "test"
    after = frames[reply_at + 1 :]
    assert after
    assert all(isinstance(f, list) for f in after)
    assert {kind(e) for e in items(after)} <= {("trade", "KRW-BTC"), ("trade", "KRW-ETH")}
    assert all("ty" in e for e in items(after))


def _data(name: str) -> str:
    from pathlib import Path

    return (Path(__file__).parent.parent / "data" / name).read_text(encoding="utf-8")


def _count(frames: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter(kind(f) for f in frames)
