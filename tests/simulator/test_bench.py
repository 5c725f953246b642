"""Bench feed: pre-encoded frames, send-time stamping, fixed rate, self-reported send rate."""

from __future__ import annotations

import time
from typing import Any, cast

import aiohttp
import pytest

from upbitws.models import Orderbook, Ticker, Trade
from upbitws.protocol.codec import decode
from upbitws.simulator.bench import BenchServer

REQUEST = '[{"ticket":"bench"},{"type":"trade","codes":["KRW-BTC"]}%s]'


def feed(frame: bytes) -> list[Ticker[Any] | Trade[Any] | Orderbook[Any]]:
    """The messages of one bench frame: the feed sends only trades, tickers and orderbooks."""
    messages = decode(frame)
    assert all(isinstance(m, Ticker | Trade | Orderbook) for m in messages), messages
    return cast("list[Ticker[Any] | Trade[Any] | Orderbook[Any]]", messages)


async def run(
    bench: BenchServer, http: aiohttp.ClientSession, fmt: str = "", compress: int = 0
) -> list[bytes]:
    frames: list[bytes] = []
    async with http.ws_connect(bench.ws_url, compress=compress) as ws:
        await ws.send_str(REQUEST % (f',{{"format":"{fmt}"}}' if fmt else ""))
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            frames.append(msg.data)
        assert ws.close_code == 1000
    return frames


async def test_trade_feed_stamps_send_time(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="trade", count=3000) as bench:
        frames = await run(bench, http)
    assert len(frames) == 3000
    [report] = bench.reports
    assert report.frames == 3000
    assert report.rate > 1000
    assert "msgs/s" in report.describe()
    now_us = time.time_ns() // 1000
    ids = set()
    for raw in frames[::97]:
        [trade] = feed(raw)
        assert isinstance(trade, Trade)
        send_us = trade.sequential_id // 100
        assert 0 <= now_us - send_us < 10_000_000
        assert abs(trade.timestamp - send_us // 1000) <= 1
        ids.add(trade.sequential_id)
    assert len(ids) == len(frames[::97])
    stream_types = [feed(f)[0].stream_type for f in (frames[0], frames[1], frames[-1])]
    assert stream_types == ["SNAPSHOT", "REALTIME", "REALTIME"]
    assert report.bytes > sum(map(len, frames))  # payloads and frame headers


async def test_fixed_rate(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="ticker", format="SIMPLE", rate=2000, count=400) as bench:
        started = time.monotonic()
        frames = await run(bench, http)
        elapsed = time.monotonic() - started
    assert len(frames) == 400
    assert 0.15 <= elapsed <= 1.0
    assert 1000 <= bench.reports[0].rate <= 3000
    assert feed(frames[0])[0].type == "ticker"


@pytest.mark.parametrize("fmt", ["DEFAULT", "SIMPLE"])
async def test_mix_feed(http: aiohttp.ClientSession, fmt: str) -> None:
    async with BenchServer(feed="mix", format=fmt, count=8) as bench:
        frames = await run(bench, http)
    assert [feed(f)[0].type for f in frames] == ["trade", "ticker", "orderbook", "trade"] * 2
    assert (b'"ty":' in frames[0]) == (fmt == "SIMPLE")
    kinds = [(m.type, m.stream_type) for f in frames for m in feed(f)]
    assert kinds[:5] == [
        ("trade", "SNAPSHOT"),
        ("ticker", "SNAPSHOT"),
        ("orderbook", "SNAPSHOT"),
        ("trade", "REALTIME"),
        ("trade", "REALTIME"),
    ]
    assert {s for _, s in kinds[3:]} == {"REALTIME"}


@pytest.mark.parametrize("fmt", ["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"])
async def test_follows_the_requested_format(http: aiohttp.ClientSession, fmt: str) -> None:
    configured = "SIMPLE" if fmt == "DEFAULT" else "DEFAULT"
    async with BenchServer(feed="mix", format=configured, count=300) as bench:
        frames = await run(bench, http, fmt)
    assert len(frames) == 300
    assert frames[0].startswith(b"[" if fmt.endswith("LIST") else b"{")
    assert (b'"ty":' in frames[0]) == fmt.startswith("SIMPLE")
    assert [len(feed(f)) for f in frames[:4]] == [1, 1, 1, 1]
    assert bench.reports[0].format == fmt
    assert fmt in bench.reports[0].describe()


async def test_unknown_format_falls_back_to_the_configured_one(
    http: aiohttp.ClientSession,
) -> None:
    async with BenchServer(feed="trade", format="SIMPLE", count=5) as bench:
        frames = await run(bench, http, "XML")
    assert all(b'"ty":' in f for f in frames)


async def test_saturation_batches(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="orderbook", count=20_000) as bench:
        frames = await run(bench, http)
    assert len(frames) == 20_000
    assert [feed(f)[0].type for f in frames[::1000]] == ["orderbook"] * 20
    assert bench.reports[0].rate > 20_000


async def test_compressed_connection_sends_frame_by_frame(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="mix", count=50, compression=True) as bench:
        frames = await run(bench, http, compress=15)
    kinds = [(m.type, m.stream_type) for f in frames for m in feed(f)]
    assert len(kinds) == 50
    assert kinds[0] == ("trade", "SNAPSHOT")
    assert kinds[3] == ("trade", "REALTIME")
    trade = feed(frames[-2])[0]
    assert isinstance(trade, Trade)
    assert abs(time.time_ns() // 1000 - trade.sequential_id // 100) < 10_000_000


async def test_client_leaving_early(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="trade", count=10_000_000) as bench:
        async with http.ws_connect(bench.ws_url) as ws:
            await ws.send_str(REQUEST % "")
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.BINARY
        async with http.ws_connect(bench.ws_url) as ws:  # the server still serves
            await ws.send_str(REQUEST % "")
            assert (await ws.receive()).type == aiohttp.WSMsgType.BINARY
    assert bench.reports == []
