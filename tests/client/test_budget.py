"""The process-wide connect budget: exact slots on a fake clock, fair, per key, loop-safe, and
the keys streams use (host; host + access-key fingerprint for private connections)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import pytest

import upbitws
from upbitws.client.budget import ConnectBudget, LocalConnectBudget, default_budget
from upbitws.exceptions import ConfigurationError

from .conftest import FAST, until

if TYPE_CHECKING:
    from upbitws.simulator import Simulator


def test_slots_on_a_fake_clock_are_exact_and_first_come_first_served() -> None:
    budget = LocalConnectBudget(clock=lambda: 0.0)
    slots = [budget.reserve("h", 0.0) for _ in range(12)]
    # 5 per second, each window widened by the 0.25 s margin (arrival jitter)
    assert slots == pytest.approx([0.0] * 5 + [1.25] * 5 + [2.5] * 2, abs=1e-12)
    assert budget.reserve("other", 0.0) == 0.0  # keys are independent
    assert budget.reserve("h", 10.0) == 10.0  # the windows have passed


def test_bookings_made_later_never_overtake_earlier_ones() -> None:
    budget = LocalConnectBudget()
    slots = [budget.reserve("h", now) for now in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6)]
    assert slots == sorted(slots)
    assert slots[5] == pytest.approx(1.25)


def test_windows_are_validated_up_front() -> None:
    with pytest.raises(ConfigurationError):
        LocalConnectBudget([(0, 1.0)])


def test_the_default_budget_is_one_per_process_and_created_lazily() -> None:
    assert default_budget() is default_budget()
    assert isinstance(default_budget(), LocalConnectBudget)


def test_threads_with_their_own_loops_share_one_budget() -> None:
    budget = LocalConnectBudget([(3, 0.5)], margin=0.0)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        async def go() -> None:
            await budget.acquire("h")
            with lock:
                starts.append(time.monotonic())

        asyncio.run(go())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    starts.sort()
    assert len(starts) == 6
    assert starts[2] - began < 0.4  # three at once
    assert starts[3] - began >= 0.5  # the fourth waited for the window


class RecordingBudget:
    def __init__(self) -> None:
        self.keys: list[str] = []

    async def acquire(self, key: str) -> None:
        self.keys.append(key)


async def test_streams_acquire_per_host_and_per_account(sim: Simulator) -> None:
    budget = RecordingBudget()
    _: ConnectBudget = budget  # the protocol is structural
    creds = upbitws.Credentials(sim.config.access_key, sim.config.secret_key)
    async with upbitws.connect(
        [upbitws.ticker("KRW-BTC"), upbitws.my_asset()],
        url=sim.ws_url,
        credentials=creds,
        connect_budget=budget,
        **FAST,
    ) as stream:
        await until(stream, lambda m: isinstance(m, upbitws.Ticker))
    host = f"127.0.0.1:{sim.port}"
    assert host in budget.keys
    private = [k for k in budget.keys if k != host]
    assert private == [f"{host}#{creds.fingerprint}"]
    assert sim.config.access_key not in private[0]
