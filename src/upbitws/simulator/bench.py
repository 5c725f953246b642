"""Benchmark feed: pre-encoded frames pushed as fast as the socket takes them, or at a set rate.

For the benchmark harness, so that the *client* is what gets measured. Each connection to
``/websocket/v1`` (or ``/websocket/v1/private``) gets, after its first text message (the
subscribe request, content ignored), ``count`` frames of the chosen feed — ``trade``,
``ticker``, ``orderbook`` (30 levels) or ``mix`` (trade, ticker, orderbook, trade, …) — in
DEFAULT or SIMPLE keys, then a close 1000.

**Bench-only stamping.** Every trade frame carries its send time: ``timestamp`` is the send
time in ms and ``sequential_id`` is ``send_us * 100 + k`` (``k`` = frame index mod 100), so a
consumer can compute added latency as ``now_us - sequential_id // 100``. Real Upbit ids are
``trade_timestamp * 10000 + k`` (§11.2); never read bench ids that way.

The server reports its own send rate per connection (:attr:`BenchServer.reports`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

import msgspec
from aiohttp import WSMsgType, web

from upbitws.models import StreamType
from upbitws.protocol.codec import encode
from upbitws.simulator.catalog import build_catalog
from upbitws.simulator.frames import orderbook_frame, ticker_frame, trade_frame
from upbitws.simulator.tape import MarketSim

__all__ = ["BenchConfig", "BenchReport", "BenchServer", "build_frames"]

Feed = Literal["trade", "ticker", "orderbook", "mix"]
_TS_MARK = b"8888888888888"  # placeholder timestamp (13 digits, like ms since the epoch)
_SID_MARK = b"77777777777777777"  # placeholder sequential_id
_POOL = 512  # distinct frames per kind, cycled


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """What each bench connection receives."""

    feed: Feed = "trade"
    format: Literal["DEFAULT", "SIMPLE"] = "DEFAULT"
    #: Messages per second; ``None`` or 0: as fast as the socket accepts.
    rate: float | None = None
    count: int = 100_000
    seed: int = 1
    #: Off by default so that zlib does not dominate what is measured.
    compression: bool = False
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        if self.feed not in ("trade", "ticker", "orderbook", "mix"):
            raise ValueError(f"feed must be trade, ticker, orderbook or mix, not {self.feed!r}")
        if self.format not in ("DEFAULT", "SIMPLE"):
            raise ValueError("bench format must be DEFAULT or SIMPLE")
        if self.count < 1:
            raise ValueError("count must be >= 1")
        if self.rate is not None and self.rate < 0:
            raise ValueError("rate must be >= 0")


@dataclass(frozen=True, slots=True)
class BenchReport:
    """What the server sent on one connection."""

    frames: int
    bytes: int
    seconds: float

    @property
    def rate(self) -> float:
        """Frames per second the server pushed."""
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def describe(self) -> str:
        return (
            f"bench: sent {self.frames} frames ({self.bytes / 1e6:.1f} MB) in "
            f"{self.seconds:.3f} s = {self.rate:,.0f} msgs/s"
        )


@dataclass(frozen=True, slots=True)
class _Frame:
    """A pre-encoded frame; trade frames are split around the stamp placeholders."""

    head: bytes
    mid: bytes = b""
    tail: bytes = b""
    stamped: bool = False


def _split(data: bytes) -> _Frame:
    head, rest = data.split(_TS_MARK, 1)
    mid, tail = rest.split(_SID_MARK, 1)
    return _Frame(head, mid, tail, stamped=True)


def build_frames(config: BenchConfig) -> list[_Frame]:
    """The cycled frame pool: frames from a real seeded KRW-BTC tape."""
    sim = MarketSim(build_catalog(["KRW-BTC"], None)[0], config.seed, _POOL)
    now = int(time.time() * 1000)
    rt = StreamType.REALTIME
    trades: list[_Frame] = []
    tickers: list[_Frame] = []
    books: list[_Frame] = []
    for i in range(_POOL):
        tape = sim.step(now + i, (now + i) * 10000)
        stamped = msgspec.structs.replace(
            trade_frame("KRW-BTC", tape, rt),
            timestamp=int(_TS_MARK),
            sequential_id=int(_SID_MARK),
        )
        trades.append(_split(encode(stamped, config.format)))
        if config.feed in ("ticker", "mix"):
            ticker = ticker_frame(sim, rt)
            assert ticker is not None
            tickers.append(_Frame(encode(ticker, config.format)))
        if config.feed in ("orderbook", "mix"):
            books.append(_Frame(encode(orderbook_frame(sim, 30, Decimal(0), rt), config.format)))
    if config.feed == "trade":
        return trades
    if config.feed == "ticker":
        return tickers
    if config.feed == "orderbook":
        return books
    return [f for i in range(_POOL) for f in (trades[i], tickers[i], books[i], trades[i - 1])]


class BenchServer:
    """``async with BenchServer(BenchConfig(...)) as bench:`` then connect to ``bench.ws_url``."""

    def __init__(self, config: BenchConfig | None = None, **knobs: object) -> None:
        self.config = replace(config or BenchConfig(), **knobs)  # type: ignore[arg-type]
        self._frames = build_frames(self.config)
        self.reports: list[BenchReport] = []
        self._runner: web.AppRunner | None = None
        self.host = self.config.host
        self.port = self.config.port
        #: Called with each connection's report as it completes (the CLI prints it).
        self.on_report: Callable[[BenchReport], None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/websocket/v1"

    async def __aenter__(self) -> BenchServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/websocket/v1", self._handle)
        app.router.add_get("/websocket/v1/private", self._handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=self.config.compression, timeout=1.0)
        await ws.prepare(request)
        async for msg in ws:  # autoping answers pings; wait for the subscribe request
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
        else:
            return ws
        with contextlib.suppress(ConnectionError, RuntimeError):
            report = await self._push(ws)
            self.reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
            await ws.close(code=1000)
        return ws

    async def _push(self, ws: web.WebSocketResponse) -> BenchReport:
        frames, count, rate = self._frames, self.config.count, self.config.rate or 0.0
        send = ws.send_bytes
        clock = time.time_ns
        start = time.perf_counter()
        sent_bytes = 0
        pool = itertools.cycle(frames)
        burst = max(1, min(64, int(rate / 100)))
        for i in range(count):
            frame = next(pool)
            if rate and i % burst == 0:  # paced in small bursts: frame i is due at start + i/rate
                ahead = start + i / rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if frame.stamped:
                now_us = clock() // 1000
                data = b"".join(
                    (
                        frame.head,
                        str(now_us // 1000).encode(),
                        frame.mid,
                        str(now_us * 100 + i % 100).encode(),
                        frame.tail,
                    )
                )
            else:
                data = frame.head
            await send(data)
            sent_bytes += len(data)
        return BenchReport(frames=count, bytes=sent_bytes, seconds=time.perf_counter() - start)
