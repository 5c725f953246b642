"""Lifecycle events through ``Stream.on_event`` and the periodic statistics log line.

Callbacks (plain functions and coroutines) run from the consumer's own iteration, so they see
the events in order with the messages around them, and the iterator yields only data unless
``include_events=True``. ``stats_interval`` logs a one-line summary at INFO on
``upbitws.stats``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest

import upbitws
from upbitws import Connected, Disconnected, LifecycleEvent, Reconnected, Reconnecting, Trade

from .conftest import FAST, eventually, until

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

SUBS = [upbitws.trade("KRW-BTC")]
QUIET = {**FAST, "include_events": False}


async def test_sync_and_async_callbacks_see_every_event_in_order_with_the_data(
    sim: Simulator,
) -> None:
    log: list[tuple[str, str]] = []  # what the consumer saw, in the order it saw it
    sync_events: list[LifecycleEvent] = []
    async_events: list[LifecycleEvent] = []

    async with upbitws.connect(SUBS, url=sim.ws_url, **QUIET) as stream:

        @stream.on_event
        def on_sync(event: LifecycleEvent) -> None:
            sync_events.append(event)
            log.append(("event", type(event).__name__))

        async def on_async(event: LifecycleEvent) -> None:
            await asyncio.sleep(0)  # a real await: the stream must await the coroutine
            async_events.append(event)

        assert stream.on_event(on_async) is on_async  # usable as a plain call too
        assert on_sync.__name__ == "on_sync"  # the decorator returns the function itself

        items = await until(stream, lambda m: isinstance(m, Trade))
        log.extend(("data", type(m).__name__) for m in items)
        assert sim.apply_fault("drop") == 1
        # Without include_events the iterator yields data only; the reconnect shows up in
        # the callbacks, and the next trade arrives after it.
        items = await until(stream, lambda m: isinstance(m, Trade) and bool(sync_events[1:]))
        await until(stream, lambda m: any(isinstance(e, Reconnected) for e in sync_events))

    assert all(isinstance(m, Trade) for m in items)
    assert sync_events == async_events  # both kinds of callback, every event, same order
    kinds = [type(e) for e in sync_events]
    assert kinds[0] is Connected
    assert kinds.index(Disconnected) < kinds.index(Reconnecting) < kinds.index(Reconnected)
    # The Connected event reached the consumer before the first trade did.
    assert log.index(("event", "Connected")) < log.index(("data", "Trade"))


async def test_a_failing_callback_surfaces_in_the_consumer(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **QUIET) as stream:

        @stream.on_event
        def broken(event: LifecycleEvent) -> None:
            raise RuntimeError(f"callback saw {type(event).__name__}")

        with pytest.raises(RuntimeError, match="callback saw Connected"):
            await until(stream, lambda m: isinstance(m, Trade))


async def test_stats_interval_logs_a_summary_line(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="upbitws.stats")
    async with upbitws.connect(SUBS, url=sim.ws_url, stats_interval=0.05, **QUIET) as stream:
        await until(stream, lambda m: isinstance(m, Trade))

        def lines() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "upbitws.stats"]

        async def consume() -> None:  # keeps the stream flowing while the log lines come
            async for _ in stream:
                pass

        async with asyncio.TaskGroup() as group:
            consumer = group.create_task(consume())
            await eventually(lambda: len(lines()) >= 2)
            consumer.cancel()
    first = lines()[0]
    assert first.startswith("upbitws stats: state=open")
    assert "msgs_in=" in first
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "upbitws.stats")


async def test_no_stats_lines_without_stats_interval(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="upbitws.stats")
    async with upbitws.connect(SUBS, url=sim.ws_url, **QUIET) as stream:
        assert stream.options.stats_interval is None
        await until(stream, lambda m: isinstance(m, Trade))
        await until(stream, lambda m: isinstance(m, Trade))
    assert [r for r in caplog.records if r.name == "upbitws.stats"] == []
