"""A scripted hostile Upbit on loopback: it sends whatever frames a test scripts.

The simulator only sends what Upbit would; these tests need what Upbit might send tomorrow
or what a broken or hostile server sends today. The WebSocket route waits for the
subscription request, then sends the scripted frames (binary, as Upbit does) and stays
open; ``GET /v1/trades/ticks`` pages the scripted REST rows the way Upbit does (newest
first, ``cursor`` = the last row of the previous page), so trade backfill runs against it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

Frames = Callable[[], Iterable[bytes]]


@dataclass
class Hostile:
    """The running server: ``url`` for ``connect(url=...)``; ``requests`` seen so far."""

    url: str
    requests: list[str] = field(default_factory=list)
    sent: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


def tick_row(trade: dict[str, Any]) -> dict[str, Any]:
    """The REST row of a DEFAULT trade frame's fields."""
    return {
        "market": trade["code"],
        "trade_date_utc": trade["trade_date"],
        "trade_time_utc": trade["trade_time"],
        "timestamp": trade["trade_timestamp"],
        "trade_price": trade["trade_price"],
        "trade_volume": trade["trade_volume"],
        "prev_closing_price": trade["prev_closing_price"],
        "change_price": trade["change_price"],
        "ask_bid": trade["ask_bid"],
        "sequential_id": trade["sequential_id"],
    }


@asynccontextmanager
async def hostile_server(
    frames: Frames, ticks: list[dict[str, Any]] | None = None, *, pace: float = 0.0
) -> AsyncIterator[Hostile]:
    """Serve ``frames()`` to every connection after its first request (``pace`` seconds
    apart when set); ``ticks`` (REST rows, newest first) on ``/v1/trades/ticks``. Stopped on
    exit."""
    rows = ticks or []
    state: Hostile

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        first = await ws.receive()
        if first.type is WSMsgType.TEXT:
            state.requests.append(first.data)
            try:
                for frame in frames():
                    await ws.send_bytes(frame)
                    state.sent += 1
                    if pace:
                        await asyncio.sleep(pace)
            except ConnectionResetError:  # the client left first (aiohttp's is a subclass)
                return ws
            finally:
                state.done.set()
        async for _ in ws:  # stay open until the client closes
            pass
        return ws

    async def trades(request: web.Request) -> web.Response:
        market = request.query.get("market")
        count = int(request.query.get("count", "500"))
        cursor = request.query.get("cursor")
        mine = [r for r in rows if r["market"] == market]
        if request.query.get("days_ago"):
            mine = []
        elif cursor is not None:
            ids = [r["sequential_id"] for r in mine]
            mine = mine[ids.index(int(cursor)) + 1 :] if int(cursor) in ids else []
        return web.Response(body=msgspec.json.encode(mine[:count]), content_type="application/json")

    app = web.Application()
    app.router.add_get("/websocket/v1", websocket)
    app.router.add_get("/v1/trades/ticks", trades)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state = Hostile(url=f"ws://127.0.0.1:{port}/websocket/v1")
    try:
        yield state
    finally:
        await runner.cleanup()
