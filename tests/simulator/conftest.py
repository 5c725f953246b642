"""Fixtures for the simulator tests: every simulator and HTTP session is closed by its fixture.

The simulator is driven with a plain aiohttp WebSocket client on purpose:
upbitws's own client could share the simulator's misunderstandings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from simfactory import SimFactory, simulators
from upbitws.simulator import Simulator

#: A small, fast set: three busy KRW markets, a thin BTC-quoted book, a USDT market.
MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "BTC-ADA", "USDT-BTC"]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """``await make_sim(**knobs)``: a started simulator on 127.0.0.1:0, closed after the test."""
    async with simulators(markets=MARKETS) as factory:
        yield factory


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    """A simulator with default knobs (but busier markets, so tests need not wait)."""
    return await make_sim(trade_rate=5.0)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
