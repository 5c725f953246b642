"""Fixtures for client integration tests: a real simulator on loopback, closed by the fixture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
from simfactory import SimFactory as SimFactory  # re-exported for the tests of this folder
from simfactory import simulators
from upbitws import BackoffPolicy

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

#: Short keepalive and backoff so every fault plays out in about a second.
FAST: dict[str, Any] = {
    "ping_interval": 0.2,
    "pong_timeout": 0.6,
    "backoff": BackoffPolicy(initial=0.05, maximum=0.3, stable_after=5.0),
    "include_events": True,
}


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """``await make_sim(**knobs)``: a started simulator on 127.0.0.1:0, closed after the test."""
    async with simulators(markets=["KRW-BTC", "KRW-ETH", "KRW-XRP"], trade_rate=3.0) as factory:
        yield factory


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return await make_sim()


async def until(
    stream: upbitws.Stream,
    predicate: Callable[[Any], bool],
    timeout: float = 10.0,  # noqa: ASYNC109
) -> list[Any]:
    """Iterate ``stream`` until ``predicate(item)``; return everything seen (bounded in time)."""
    seen: list[Any] = []
    async with asyncio.timeout(timeout):
        async for item in stream:
            seen.append(item)
            if predicate(item):
                return seen
    raise AssertionError(f"stream ended before the predicate held; saw {len(seen)} items")


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until ``check()`` holds (polling, bounded)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
