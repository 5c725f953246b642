"""A faster writer for the simulator's bench frames (``upbitws.simulator.bench``, same contract).

Same frames as the simulator's bench mode (its ``build_frames``: a seeded KRW-BTC tape,
``trade`` / ``ticker`` / ``orderbook`` with 30 levels / ``mix``), same stamping
(``timestamp`` = send ms, ``sequential_id`` = ``send_us * 100 + k``), same close with 1000
after ``--bench-count`` frames. Two differences, both so that the *client* is what gets
measured:

- frames are written to the transport in batches of pre-built WebSocket frames (a server
  frame is a 2–4 byte header and the payload, unmasked), with the protocol's flow control
  between batches; the simulator's ``send_bytes`` per frame tops out near 190k msgs/s on
  this machine, below the bare loops and upbitws, and costs a fast consumer one wakeup per
  frame;
- the format follows the request (SIMPLE if asked, as Upbit does: cryptofeed asks), and the
  first frame of each type is a SNAPSHOT, as Upbit sends it (ccxt's orderbook needs one).

At a fixed rate, frames are written when due (checked every event-loop turn, about 1 ms),
each stamped at its write. Prints ``READY ws://127.0.0.1:PORT/websocket/v1`` when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from typing import Any

from aiohttp import WSMsgType, web

from upbitws.simulator.bench import BenchConfig, build_frames


def _header(n: int) -> bytes:
    if n < 126:
        return bytes((0x82, n))
    if n < 65536:
        return struct.pack("!BBH", 0x82, 126, n)
    return struct.pack("!BBQ", 0x82, 127, n)


_TS_LEN = 13  # ms since the epoch
_SID_LEN = 18  # send_us * 100 + k
_FIRST = 8  # frames that may be a type's first (the mix cycles through 4)


class Pool:
    """One format's frames as (header+head, mid, tail, stamped), cycled."""

    def __init__(self, feed: str, fmt: str) -> None:
        frames = build_frames(BenchConfig(feed=feed, format=fmt))  # type: ignore[arg-type]
        self.items: list[tuple[bytes, bytes, bytes, bool]] = []
        kinds: list[bytes] = []
        for frame in frames:
            if frame.stamped:
                size = len(frame.head) + _TS_LEN + len(frame.mid) + _SID_LEN + len(frame.tail)
                self.items.append((_header(size) + frame.head, frame.mid, frame.tail, True))
            else:
                self.items.append((_header(len(frame.head)) + frame.head, b"", b"", False))
            kinds.append(frame.head.split(b",", 1)[0])  # b'{"type":"trade"' or b'{"ty":...'
        # The first frame of each type goes out as a SNAPSHOT (same length: both 8 letters).
        self.first = list(self.items[:_FIRST])
        for i in range(min(_FIRST, len(self.items))):
            if kinds[i] not in kinds[:i]:
                pre, mid, tail, stamped = self.first[i]
                self.first[i] = (_snapshot(pre), mid, _snapshot(tail), stamped)

    def batch(self, start: int, stop: int) -> bytes:
        items, first = self.items, self.first
        n = len(items)
        now_us = time.time_ns() // 1000
        ms = b"%d" % (now_us // 1000)
        base = now_us * 100
        parts: list[bytes] = []
        for i in range(start, stop):
            pre, mid, tail, stamped = first[i] if i < _FIRST else items[i % n]
            if stamped:
                parts += (pre, ms, mid, b"%d" % (base + i % 100), tail)
            else:
                parts.append(pre)
        return b"".join(parts)


def _snapshot(data: bytes) -> bytes:
    return data.replace(b'"stream_type":"REALTIME"', b'"stream_type":"SNAPSHOT"').replace(
        b'"st":"REALTIME"', b'"st":"SNAPSHOT"'
    )


class Feed:
    def __init__(self, kind: str, rate: float, count: int, batch: int) -> None:
        self.rate = rate
        self.count = count
        self.batch = batch
        self.pools = {False: Pool(kind, "DEFAULT"), True: Pool(kind, "SIMPLE")}

    async def push(self, request: web.Request, ws: web.WebSocketResponse, simple: bool) -> None:
        transport = request.transport
        protocol: Any = request.protocol
        assert transport is not None
        pool = self.pools[simple]
        clock = time.perf_counter
        sent = 0
        t0 = clock()
        while sent < self.count and not transport.is_closing():
            if self.rate > 0:
                due = min(self.count, int((clock() - t0) * self.rate) + 1)
                if due <= sent:
                    await asyncio.sleep(max(0.0, sent / self.rate - (clock() - t0)))
                    continue
                stop = due
            else:
                stop = min(self.count, sent + self.batch)
            transport.write(pool.batch(sent, stop))
            sent = stop
            if transport.get_write_buffer_size() > 256 * 1024:
                await protocol._drain_helper()
        await ws.close(code=1000)


async def handle_ws(request: web.Request) -> web.WebSocketResponse:
    feed: Feed = request.app["feed"]
    ws = web.WebSocketResponse(compress=False, max_msg_size=1 << 20)
    await ws.prepare(request)
    pusher: asyncio.Task[None] | None = None
    async for msg in ws:
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) and pusher is None:
            text = msg.data if isinstance(msg.data, str) else msg.data.decode()
            try:
                objects = json.loads(text)
            except ValueError:
                objects = []
            simple = isinstance(objects, list) and any(
                isinstance(o, dict) and str(o.get("format", "")).upper().startswith("SIMPLE")
                for o in objects
            )
            pusher = asyncio.create_task(feed.push(request, ws, simple))
    if pusher is not None:
        pusher.cancel()
    return ws


async def serve(args: argparse.Namespace) -> None:
    app = web.Application()
    app["feed"] = Feed(args.bench_feed, args.bench_rate, args.bench_count, args.batch)
    app.router.add_get("/websocket/v1", handle_ws)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY ws://127.0.0.1:{port}/websocket/v1", flush=True)
    try:
        await asyncio.sleep(args.lifetime)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    feeds = ["trade", "ticker", "orderbook", "mix"]
    parser.add_argument("--bench-feed", default="trade", choices=feeds)
    parser.add_argument("--bench-rate", type=float, default=0.0)
    parser.add_argument("--bench-count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds, then exit")
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
