"""One factory of started simulators for every test folder (closed by the owning fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from upbitws.simulator import Simulator

SimFactory = Callable[..., Awaitable[Simulator]]


@asynccontextmanager
async def simulators(**defaults: Any) -> AsyncIterator[SimFactory]:
    """Yield ``factory(**knobs)`` starting simulators on 127.0.0.1:0 with ``defaults`` under
    ``knobs``; every simulator it started is closed on exit, newest first."""
    sims: list[Simulator] = []

    async def factory(**knobs: Any) -> Simulator:
        sim = Simulator(**{**defaults, **knobs})
        await sim.start()
        sims.append(sim)
        return sim

    try:
        yield factory
    finally:
        for sim in reversed(sims):
            await sim.aclose()
