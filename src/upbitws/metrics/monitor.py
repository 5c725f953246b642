"""The alert monitor: feeds a stream's counters to the sans-I/O rule engine once a second.

::

    async with upbitws.connect(subs) as stream, upbitws.metrics.monitor(stream) as mon:
        async for item in stream: ...   # AlertRaised / AlertResolved arrive here too

The rules are decided in :mod:`upbitws.protocol.alerts`; this module only reads the stream
(``stream.stats()``, ``stream.counters``), turns transitions into :class:`AlertRaised` /
:class:`AlertResolved` events queued in order with the data (``Stream.emit``), logs them
(WARNING / INFO) and hands them to the sinks (a webhook). Its tasks run under one TaskGroup
owned by the context manager; leaving it stops them and closes the sinks' sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Protocol, Self

from upbitws.client.events import AlertRaised, AlertResolved
from upbitws.exceptions import ConfigurationError, StreamClosedError
from upbitws.protocol.alerts import AlertChange, AlertEngine, AlertRules, Observation
from upbitws.protocol.subscriptions import is_private

if TYPE_CHECKING:
    from types import TracebackType

    from upbitws.client.stream import Stream

__all__ = ["AlertSink", "Monitor", "monitor", "observe"]

log = logging.getLogger("upbitws.alerts")


class AlertSink(Protocol):
    """Receives alert transitions; ``offer`` must not block, ``run`` delivers."""

    def offer(self, event: AlertRaised | AlertResolved) -> None: ...

    async def run(self) -> None: ...


def observe(stream: Stream) -> Observation:
    """What the alert rules look at, read from the stream's counters now."""
    stats = stream.stats()
    keys = stream.subscriptions.keys()  # (type, code) pairs
    watched = frozenset(t for t, _ in keys if not is_private(t))
    return Observation(
        endpoints={c.endpoint: c.state == "open" for c in stats.connections},
        received=stats.received,
        watched=watched,
        reconnects=stats.reconnections,
        gaps_unrecoverable=sum(n for (_, o), n in stats.gaps.items() if o == "unrecoverable"),
        latency=stream.counters.latency.buckets(),
        rss_bytes=stats.rss_bytes,
        cpu_seconds=time.process_time(),
        loop_lag=stats.loop_lag,
    )


class _Owned:
    """Runs coroutines under one TaskGroup inside a runner task this object owns."""

    def __init__(self) -> None:
        self._runner: asyncio.Task[None] | None = None

    def _start(self, jobs: Iterable[Callable[[], Coroutine[Any, Any, None]]], name: str) -> None:
        async def run() -> None:
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(job())

        self._runner = asyncio.create_task(run(), name=name)

    async def _stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


class Monitor(_Owned):
    """Evaluates :class:`AlertRules` over ``stream`` every ``interval`` seconds."""

    def __init__(
        self,
        stream: Stream,
        rules: AlertRules | None = None,
        *,
        sinks: Iterable[AlertSink] = (),
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        if not interval > 0:
            raise ConfigurationError(f"monitor interval must be > 0 seconds, got {interval!r}")
        self.stream = stream
        self.rules = rules or AlertRules()
        self.sinks = list(sinks)
        self.interval = interval
        self.engine = AlertEngine(self.rules, time.monotonic())
        # One offset for every conversion: the same engine time maps to the same epoch.
        self._epoch_offset = time.time() - time.monotonic()

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise StreamClosedError("a monitor can be entered once")
        self.check()  # the first observation starts the clocks (silence, downtime)
        self._start([self._loop, *(s.run for s in self.sinks)], "upbitws-monitor")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()

    def wall(self, monotonic: float) -> float:
        """An engine time as epoch seconds."""
        return monotonic + self._epoch_offset

    def check(self) -> list[AlertRaised | AlertResolved]:
        """Observe the stream now; emit, log and deliver the transitions."""
        now = time.monotonic()
        events = [self._event(change) for change in self.engine.observe(now, observe(self.stream))]
        for event in events:
            self.stream.emit(event)
            if isinstance(event, AlertRaised):
                log.warning("alert %s raised (%s): %s", event.name, event.severity, event.summary)
            else:
                log.info("alert %s resolved: %s", event.name, event.summary)
            for sink in self.sinks:
                sink.offer(event)
        return events

    def _event(self, change: AlertChange) -> AlertRaised | AlertResolved:
        since = self.wall(change.since)
        if change.raised:
            return AlertRaised(change.name, change.severity, change.summary, since, change.value)
        return AlertResolved(
            change.name, change.severity, change.summary, since, change.value, self.wall(change.at)
        )

    def last_data(self) -> dict[str, float]:
        """Epoch seconds when each type last delivered data, to ``interval`` resolution."""
        return {t: self.wall(at) for t, at in self.engine.last_data().items()}

    def watch_from(self) -> dict[str, float]:
        """Epoch seconds since each subscribed public type has been watched."""
        return {t: self.wall(at) for t, at in self.engine.watch_from().items()}


def monitor(
    stream: Stream,
    rules: AlertRules | None = None,
    *,
    webhook: str | None = None,
    interval: float = 1.0,
) -> Monitor:
    """Alerts for ``stream`` (``async with``); ``webhook``: POST every raise / resolve there."""
    from upbitws.metrics.webhook import WebhookSink

    sinks = [WebhookSink(webhook)] if webhook else []
    return Monitor(stream, rules, sinks=sinks, interval=interval)
