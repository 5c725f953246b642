"""``/metrics`` and ``/healthz`` over HTTP for one stream (extra ``[metrics]``).

::

    async with upbitws.connect(subs) as stream, upbitws.metrics.serve(stream, port=9464):
        async for message in stream: ...

Why an aiohttp server around prometheus-client's registry, not its ``start_http_server``:
that one serves from a thread of its own, so every scrape would read the stream's dicts from
another thread while the event loop mutates them. Served by aiohttp on the stream's own loop,
a scrape is one consistent read between two frames, ``/healthz`` shares the server, and the
server is owned and closed by this context manager like every other task (design §4).
The registry is a private one: the stream's collector, prometheus-client's process and
platform collectors (resident memory, CPU seconds, open fds) and its GC collector.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from upbitws.exceptions import ConfigurationError, MissingExtraError
from upbitws.metrics.health import health
from upbitws.metrics.monitor import Monitor, monitor

if TYPE_CHECKING:
    from types import TracebackType

    from upbitws.client.stream import Stream
    from upbitws.protocol.alerts import AlertRules

__all__ = ["Exporter", "serve"]


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MissingExtraError("the metrics exporter (upbitws.metrics.serve)", "metrics") from None
    return prometheus_client


class Exporter:
    """An HTTP server for ``/metrics`` and ``/healthz``, plus the alert :class:`Monitor`."""

    def __init__(self, monitor: Monitor, host: str = "127.0.0.1", port: int = 0) -> None:
        prom = _prometheus()
        from upbitws.metrics.collector import StreamCollector

        if not 0 <= port <= 65535:
            raise ConfigurationError(f"metrics port must be 0..65535, got {port}")
        self.monitor = monitor
        self.host = host
        self.port = port
        self.registry = prom.CollectorRegistry(auto_describe=False)
        self.registry.register(StreamCollector(monitor))
        prom.ProcessCollector(registry=self.registry)
        prom.PlatformCollector(registry=self.registry)
        prom.GCCollector(registry=self.registry)
        self._generate = prom.generate_latest
        self._content_type = prom.CONTENT_TYPE_LATEST
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` once started (the real port when 0 was asked)."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:  # port taken, address not local: say which, in one line
                raise ConfigurationError(
                    f"metrics endpoint {self.host}:{self.port}: {exc.strerror or exc}; "
                    "choose another --metrics-port / --metrics-host"
                ) from None
            await self.monitor.__aenter__()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.monitor.__aexit__(exc_type, exc, tb)
        finally:
            runner, self._runner = self._runner, None
            if runner is not None:
                await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        self.monitor.check()  # per-type activity and alerts as of this scrape
        body = self._generate(self.registry)
        return web.Response(body=body, headers={"Content-Type": self._content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        ok, body = health(self.monitor)
        return web.Response(
            status=200 if ok else 503,
            text=json.dumps(body),
            content_type="application/json",
        )


def serve(
    stream: Stream,
    *,
    host: str = "127.0.0.1",
    port: int = 9464,
    rules: AlertRules | None = None,
    webhook: str | None = None,
    interval: float = 1.0,
) -> Exporter:
    """Serve ``/metrics`` and ``/healthz`` for ``stream`` on ``host:port`` (``async with``),
    and run the built-in alerts (``rules``; ``webhook``: POST each raise / resolve there).
    ``port=0`` picks a free port (see :attr:`Exporter.port`). Needs ``upbitws[metrics]``."""
    _prometheus()
    return Exporter(monitor(stream, rules, webhook=webhook, interval=interval), host, port)
