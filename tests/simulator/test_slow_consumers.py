"""Clients that stop reading are cut, not buffered for: byte-bounded queues and a global budget.

The stuck clients are raw sockets with 4 KiB receive buffers that subscribe to a busy feed and
never read again (``bench/slow_consumers.py``, whose 300-client run is in bench/results).
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from types import ModuleType

    from simfactory import SimFactory
    from upbitws.simulator import Simulator

BENCH = Path(__file__).resolve().parents[2] / "bench" / "slow_consumers.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_slow_consumers", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


slow = _bench()


async def _stuck(sim: Simulator, n: int) -> list[socket.socket]:
    return [await asyncio.to_thread(slow.stuck_client, sim.host, sim.port) for _ in range(n)]


async def _wait(predicate: Callable[[], bool], within: float) -> None:
    """Poll ``predicate`` (simulator counters have no event to wait on), bounded."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_consumer_that_stops_reading_is_cut_at_max_queue_bytes(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(
        trade_rate=8.0, connect_limit=None, max_queue_bytes=256 * 1024, send_budget_bytes=None
    )
    async with http.ws_connect(sim.ws_url) as reader:
        await reader.send_bytes(slow.SUBSCRIBE)
        socks = await _stuck(sim, 1)
        try:
            await _wait(lambda: sim.stats()["slow_consumers"] == 1, 15)
            await _wait(lambda: sim.stats()["connections"] == 1, 5)
            # The reading client was never cut and still receives.
            received = 0
            async with asyncio.timeout(5):
                while received < 50:
                    msg = await reader.receive()
                    assert msg.type == aiohttp.WSMsgType.BINARY
                    received += 1
        finally:
            for sock in socks:
                sock.close()
    stats = sim.stats()
    assert stats["slow_consumers"] == 1
    assert stats["send_budget_cuts"] == 0


async def test_the_global_send_budget_cuts_the_largest_queues(make_sim: SimFactory) -> None:
    budget = 1536 * 1024
    sim = await make_sim(
        trade_rate=8.0,
        connect_limit=None,
        max_queue_bytes=1024 * 1024,
        send_budget_bytes=budget,
    )
    socks = await _stuck(sim, 4)
    peak = 0
    deadline = time.monotonic() + 20
    try:
        while sim.stats()["slow_consumers"] < 4:
            assert time.monotonic() < deadline, sim.stats()
            peak = max(peak, sim.stats()["queued_bytes"])
            await asyncio.sleep(0.02)
    finally:
        for sock in socks:
            sock.close()
    stats = sim.stats()
    # Four stuck queues of up to 1 MiB each would hold 4 MiB; the budget cut some first.
    assert stats["send_budget_cuts"] >= 1
    assert peak <= budget
    await _wait(lambda: sim.stats()["queued_bytes"] == 0, 5)


def test_stuck_clients_keep_the_simulator_rss_bounded() -> None:
    """40 stuck clients for 12 s with the default knobs. Before the byte bound this grew ~6 MB/s
    without end (85 MB in 15 s; 300 clients: 41 → 955 MB in 40 s, bench/results)."""
    result = slow.run(40, 12.0)
    growth = result["rss_peak_mb"] - result["rss_start_mb"]
    assert result["slow_consumers_cut"] == 40, result
    assert result["connections_left"] == 0, result
    assert growth < 45, result


def test_stuck_client_helper_really_stops_reading() -> None:
    """The harness itself: a stuck client's socket has data waiting that nobody reads."""
    with slow.simulator_process(markets=["KRW-BTC"], trade_rate=8.0) as (_proc, url):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        sock = slow.stuck_client(host, int(port))
        try:
            deadline = time.monotonic() + 5
            waiting = b""
            while not waiting and time.monotonic() < deadline:
                time.sleep(0.1)
                try:
                    waiting = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    waiting = b""
            assert waiting  # frames arrived and are left unread
        finally:
            sock.close()
