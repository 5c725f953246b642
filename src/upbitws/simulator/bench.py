"""Benchmark feed: pre-encoded frames written in batches, as fast as the socket takes them or
at a set rate.

For the benchmark harness, so that the *client* is what gets measured. Each connection to
``/websocket/v1`` (or ``/websocket/v1/private``) gets, after its first text message (the
subscribe request), ``count`` frames of the chosen feed — ``trade``, ``ticker``,
``orderbook`` (30 levels) or ``mix`` (trade, ticker, orderbook, trade, …) — then a close 1000.

**Format and stream type as Upbit sends them.** The frames follow the ``format`` of the
subscribe request (DEFAULT, SIMPLE, JSON_LIST or SIMPLE_LIST; the configured format when the
request names none), and the first frame of each type is a ``SNAPSHOT``, the rest
``REALTIME`` (some clients wait for a snapshot before they deliver anything).

**Batched writes.** Frames are pre-built WebSocket frames (a 2–10 byte header and the
payload; server frames are not masked) joined into batches and written to the transport in
one call each, with the transport's flow control between batches, so the feed is not what a
fast consumer waits for. At a fixed rate, every frame that is due is written at once (the
loop wakes when the next frame is due, about every 1 ms at most). With per-message
compression negotiated, frames go through aiohttp one by one instead (much slower).

**Bench-only stamping.** Every trade frame carries the time its batch was written:
``timestamp`` is that time in ms and ``sequential_id`` is ``send_us * 100 + k`` (``k`` = frame
index mod 100), so a consumer can compute added latency as ``now_us - sequential_id // 100``.
Real Upbit ids are ``trade_timestamp * 10000 + k`` (§11.2); never read bench ids that way.

The server reports its own send rate per connection (:attr:`BenchServer.reports`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

import msgspec
from aiohttp import WSMsgType, web

from upbitws.models import StreamType
from upbitws.protocol.codec import encode
from upbitws.protocol.formats import FORMATS, Format
from upbitws.simulator.catalog import build_catalog
from upbitws.simulator.frames import orderbook_frame, ticker_frame, trade_frame
from upbitws.simulator.tape import MarketSim

__all__ = ["BenchConfig", "BenchReport", "BenchServer", "build_frames"]

Feed = Literal["trade", "ticker", "orderbook", "mix"]
_TS_MARK = b"8888888888888"  # placeholder timestamp (13 digits, like ms since the epoch)
_SID_MARK = b"77777777777777777"  # placeholder sequential_id
_POOL = 512  # distinct frames per kind, cycled
_BATCH = 64  # frames per transport write at saturation
_HIGH_WATER = 256 * 1024  # bytes buffered in the transport before waiting for it to drain
_FIRST = 8  # frames that may be a type's first (the mix cycles through 4)


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """What each bench connection receives."""

    feed: Feed = "trade"
    #: Used when the subscribe request names no ``format``.
    format: str = Format.DEFAULT
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
        if self.format not in FORMATS:
            raise ValueError("bench format must be DEFAULT, SIMPLE, JSON_LIST or SIMPLE_LIST")
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
    format: str = "DEFAULT"

    @property
    def rate(self) -> float:
        """Frames per second the server pushed."""
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def describe(self) -> str:
        return (
            f"bench: sent {self.frames} frames ({self.format}, {self.bytes / 1e6:.1f} MB) in "
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


_Messages = list[tuple[Any, bool]]  # (model, stamped)


def _messages(feed: Feed, seed: int) -> _Messages:
    """The cycled pool as models (REALTIME; trades carry the stamp placeholders)."""
    sim = MarketSim(build_catalog(["KRW-BTC"], None)[0], seed, _POOL)
    now = int(time.time() * 1000)
    rt = StreamType.REALTIME
    trades: _Messages = []
    tickers: _Messages = []
    books: _Messages = []
    for i in range(_POOL):
        tape = sim.step(now + i, (now + i) * 10000)
        stamped = msgspec.structs.replace(
            trade_frame("KRW-BTC", tape, rt),
            timestamp=int(_TS_MARK),
            sequential_id=int(_SID_MARK),
        )
        trades.append((stamped, True))
        if feed in ("ticker", "mix"):
            ticker = ticker_frame(sim, rt)
            assert ticker is not None
            tickers.append((ticker, False))
        if feed in ("orderbook", "mix"):
            books.append((orderbook_frame(sim, 30, Decimal(0), rt), False))
    if feed == "trade":
        return trades
    if feed == "ticker":
        return tickers
    if feed == "orderbook":
        return books
    return [m for i in range(_POOL) for m in (trades[i], tickers[i], books[i], trades[i - 1])]


def _encode_all(messages: _Messages, fmt: str) -> list[_Frame]:
    return [_split(encode(m, fmt)) if s else _Frame(encode(m, fmt)) for m, s in messages]


def build_frames(config: BenchConfig) -> list[_Frame]:
    """The cycled frame pool in ``config.format``: frames from a real seeded KRW-BTC tape."""
    return _encode_all(_messages(config.feed, config.seed), config.format)


def _header(n: int) -> bytes:
    """A server-to-client binary frame header (FIN, no mask) for an ``n``-byte payload."""
    if n < 126:
        return bytes((0x82, n))
    if n < 65536:
        return struct.pack("!BBH", 0x82, 126, n)
    return struct.pack("!BBQ", 0x82, 127, n)


def _snapshot(data: bytes) -> bytes:
    return data.replace(b'"stream_type":"REALTIME"', b'"stream_type":"SNAPSHOT"').replace(
        b'"st":"REALTIME"', b'"st":"SNAPSHOT"'
    )


def _as_snapshot(f: _Frame) -> _Frame:
    return _Frame(_snapshot(f.head), f.mid, _snapshot(f.tail), f.stamped)


_Wire = tuple[bytes, bytes, bytes, bool]  # (header + head, mid, tail, stamped)


class _WirePool:
    """One format's frames as ready WebSocket frames, cycled; the first frame of each type
    is a SNAPSHOT. Stamped frames' headers assume 13-digit ms and 18-digit ids."""

    TS_LEN = 13
    SID_LEN = 18

    def __init__(self, frames: list[_Frame]) -> None:
        self.frames = frames
        self.items: list[_Wire] = [self._wire(f) for f in frames]
        kinds = [f.head.split(b",", 1)[0].lstrip(b"[") for f in frames]
        #: Indices of the frames that go out as SNAPSHOTs (each type's first).
        self.snapshots = {i for i in range(min(_FIRST, len(frames))) if kinds[i] not in kinds[:i]}
        self.first = [
            self._wire(_as_snapshot(f)) if i in self.snapshots else self.items[i]
            for i, f in enumerate(frames[:_FIRST])
        ]

    def _wire(self, f: _Frame) -> _Wire:
        if not f.stamped:
            return _header(len(f.head)) + f.head, b"", b"", False
        size = len(f.head) + self.TS_LEN + len(f.mid) + self.SID_LEN + len(f.tail)
        return _header(size) + f.head, f.mid, f.tail, True

    def payload(self, i: int, now_us: int) -> bytes:
        """Frame ``i``'s payload alone (for the per-frame path), stamped with ``now_us``."""
        f = self.frames[i % len(self.frames)]
        if i in self.snapshots:
            f = _as_snapshot(f)
        if not f.stamped:
            return f.head
        return b"%b%d%b%d%b" % (f.head, now_us // 1000, f.mid, now_us * 100 + i % 100, f.tail)

    def batch(self, start: int, stop: int) -> bytes:
        """Frames ``start`` to ``stop - 1`` as one write, all stamped now."""
        items, first = self.items, self.first
        n = len(items)
        now_us = time.time_ns() // 1000
        ms = b"%d" % (now_us // 1000)
        base = now_us * 100
        if len(ms) != self.TS_LEN or len(b"%d" % base) != self.SID_LEN:  # pragma: no cover
            raise RuntimeError("bench stamps no longer fit the pre-built frame headers")
        parts: list[bytes] = []
        for i in range(start, stop):
            pre, mid, tail, stamped = first[i] if i < _FIRST else items[i % n]
            if stamped:
                parts += (pre, ms, mid, b"%d" % (base + i % 100), tail)
            else:
                parts.append(pre)
        return b"".join(parts)


def _requested_format(text: str) -> str | None:
    """The ``format`` of a subscribe request, if it names a known one."""
    try:
        request = json.loads(text)
    except ValueError:
        return None
    if not isinstance(request, list):
        return None
    for item in request:
        if isinstance(item, dict) and "format" in item:
            fmt = str(item["format"]).upper()
            if fmt in FORMATS:
                return fmt
    return None


class BenchServer:
    """``async with BenchServer(BenchConfig(...)) as bench:`` then connect to ``bench.ws_url``."""

    def __init__(self, config: BenchConfig | None = None, **knobs: object) -> None:
        self.config = replace(config or BenchConfig(), **knobs)  # type: ignore[arg-type]
        self._messages = _messages(self.config.feed, self.config.seed)
        self._pools: dict[str, _WirePool] = {}
        self._pool(self.config.format)
        self.reports: list[BenchReport] = []
        self._runner: web.AppRunner | None = None
        self.host = self.config.host
        self.port = self.config.port
        #: Called with each connection's report as it completes (the CLI prints it).
        self.on_report: Callable[[BenchReport], None] | None = None

    def _pool(self, fmt: str) -> _WirePool:
        pool = self._pools.get(fmt)
        if pool is None:
            pool = self._pools[fmt] = _WirePool(_encode_all(self._messages, fmt))
        return pool

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
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
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
        pusher: asyncio.Task[None] | None = None
        try:
            async for msg in ws:  # keeps reading: answers pings, sees the client leave
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) and pusher is None:
                    text = msg.data if isinstance(msg.data, str) else msg.data.decode()
                    fmt = _requested_format(text) or self.config.format
                    pusher = asyncio.create_task(self._serve(request, ws, fmt))
        finally:
            if pusher is not None and not pusher.done():
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher
        return ws

    async def _serve(self, request: web.Request, ws: web.WebSocketResponse, fmt: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            pool = self._pool(fmt)
            report: BenchReport | None
            if ws.compress:
                report = await self._push_frames(ws, pool)
            else:
                report = await self._push_batches(request, pool)
            if report is None:
                return
            report = replace(report, format=fmt)
            self.reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
            await ws.close(code=1000)

    async def _push_batches(self, request: web.Request, pool: _WirePool) -> BenchReport | None:
        """Pre-built frames straight to the transport, a batch per write."""
        transport = request.transport
        protocol: Any = request.protocol
        if transport is None:
            return None
        count, rate = self.config.count, self.config.rate or 0.0
        clock = time.perf_counter
        sent = sent_bytes = 0
        start = clock()
        while sent < count:
            if transport.is_closing():
                return None
            if rate:  # frame i is due at start + i / rate: write all that are due
                due = min(count, sent + 16 * _BATCH, int((clock() - start) * rate) + 1)
                if due <= sent:
                    await asyncio.sleep(start + sent / rate - clock())
                    continue
                stop = due
            else:
                stop = min(count, sent + _BATCH)
            data = pool.batch(sent, stop)
            transport.write(data)
            sent_bytes += len(data)
            sent = stop
            if transport.get_write_buffer_size() > _HIGH_WATER:
                await protocol._drain_helper()  # aiohttp's flow control (resumes on drain)
        return BenchReport(frames=count, bytes=sent_bytes, seconds=clock() - start)

    async def _push_frames(self, ws: web.WebSocketResponse, pool: _WirePool) -> BenchReport:
        """One ``send_bytes`` per frame: only with compression, which the batches skip."""
        count, rate = self.config.count, self.config.rate or 0.0
        clock = time.perf_counter
        sent_bytes = 0
        start = clock()
        for i in range(count):
            if rate:
                ahead = start + i / rate - clock()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            data = pool.payload(i, time.time_ns() // 1000)
            await ws.send_bytes(data)
            sent_bytes += len(data)
        return BenchReport(frames=count, bytes=sent_bytes, seconds=clock() - start)
