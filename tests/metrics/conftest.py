"""Fixtures for the operations tests: a real simulator on loopback, scraping helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from simfactory import SimFactory, simulators
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

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    async with simulators(markets=["KRW-BTC", "KRW-ETH"], trade_rate=3.0) as factory:
        yield factory


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return await make_sim()


def parse(text: str) -> tuple[set[str], Samples]:
    """(family names declared, {(sample name, sorted labels): value})."""
    families: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


async def scrape(base: str) -> tuple[set[str], Samples]:
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return parse(await r.text())


async def healthz(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as r:
        body: dict[str, Any] = await r.json()
        return r.status, body


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until ``await check()`` (or ``check()``) is truthy (polling, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
