"""Bench feed: pre-encoded frames, send-time stamping, fixed rate, self-reported send rate."""

from __future__ import annotations

import time

import aiohttp
import pytest

from upbitws.protocol.codec import decode
from upbitws.simulator.bench import BenchServer


async def run(bench: BenchServer, http: aiohttp.ClientSession) -> list[bytes]:
    frames: list[bytes] = []
    async with http.ws_connect(bench.ws_url) as ws:
        await ws.send_str('[{"ticket":"bench"},{"type":"trade","codes":["KRW-BTC"]}]')
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
        [trade] = decode(raw)
        assert trade.type == "trade"
        send_us = trade.sequential_id // 100
        assert 0 <= now_us - send_us < 10_000_000
        assert abs(trade.timestamp - send_us // 1000) <= 1
        ids.add(trade.sequential_id)
    assert len(ids) == len(frames[::97])


async def test_fixed_rate(http: aiohttp.ClientSession) -> None:
    async with BenchServer(feed="ticker", format="SIMPLE", rate=2000, count=400) as bench:
        started = time.monotonic()
        frames = await run(bench, http)
        elapsed = time.monotonic() - started
    assert len(frames) == 400
    assert 0.15 <= elapsed <= 1.0
    assert 1000 <= bench.reports[0].rate <= 3000
    assert decode(frames[0])[0].type == "ticker"


@pytest.mark.parametrize("fmt", ["DEFAULT", "SIMPLE"])
async def test_mix_feed(http: aiohttp.ClientSession, fmt: str) -> None:
    async with BenchServer(feed="mix", format=fmt, count=8) as bench:
        frames = await run(bench, http)
    assert [decode(f)[0].type for f in frames] == ["trade", "ticker", "orderbook", "trade"] * 2
    assert (b'"ty":' in frames[0]) == (fmt == "SIMPLE")
