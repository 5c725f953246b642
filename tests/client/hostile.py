"""Small hostile servers for edge tests, on loopback, closed by their context managers.

* :func:`http_server`: an aiohttp app whose every request goes to one handler (wrong
  statuses, plain 200s, redirects, echoed tokens, 429 / 418 with odd bodies).
* :class:`BlackholeProxy`: a TCP proxy in front of a real server whose ``freeze()`` makes
  every open connection half-open: bytes are swallowed in both directions, the sockets stay
  open (what a dead NAT or a pulled cable looks like to both ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def http_server(handler: Handler) -> AsyncIterator[tuple[int, list[web.Request]]]:
    """Serve ``handler`` for every path on 127.0.0.1; yield ``(port, requests seen)``."""
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, seen
    finally:
        await runner.cleanup()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class BlackholeProxy:
    """``async with BlackholeProxy(upstream_port) as proxy``: ``proxy.port`` forwards to the
    upstream; ``proxy.freeze()`` turns every open connection half-open; ``accepted`` holds
    the monotonic time of every accepted connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.accepted: list[float] = []
        self._frozen: list[list[bool]] = []
        self._server: asyncio.Server | None = None
        self._group: asyncio.TaskGroup | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> BlackholeProxy:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._group is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()
        await self._group.__aexit__(None, None, None)

    def freeze(self) -> None:
        for flag in self._frozen:
            flag[0] = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.append(time.monotonic())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]
        frozen = [False]
        self._frozen.append(frozen)
        assert self._group is not None
        self._group.create_task(self._pump(reader, up_writer, frozen))
        self._group.create_task(self._pump(up_reader, writer, frozen))

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frozen: list[bool]
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if not frozen[0]:  # frozen: swallow, keep the socket open
                    writer.write(data)
                    await writer.drain()
        writer.transport.abort()
