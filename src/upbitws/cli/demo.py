"""``upbitws demo``: ``upbitws watch`` on the embedded simulator, with scheduled faults.

Midway the demo drops the connection and later sends a malformed frame, so the view shows
what upbitws does about them: reconnect with backoff, restore the subscriptions, recover the
missed trades from REST (the other types are healed by the next snapshot), count and skip the
bad frame. The view says which disconnect the demo caused, so nothing is blamed on Upbit.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console

from upbitws.cli._inputs import check_duration
from upbitws.cli._view import WatchView
from upbitws.cli.watch import drive, subscriptions_for
from upbitws.client.stream import connect
from upbitws.simulator import Simulator

__all__ = ["MARKETS", "demo", "fault_schedule"]

MARKETS = ("KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "BTC-ETH", "USDT-BTC")

#: (share of the run, fault kind, what the view says about it)
_FAULTS = (
    (0.4, "drop", "drop the connection (no close frame)"),
    (0.7, "malformed", "one malformed frame"),
)


def fault_schedule(duration: float) -> list[tuple[float, str, str]]:
    """When (seconds into the run) the demo injects which fault."""
    return [(duration * share, kind, what) for share, kind, what in _FAULTS]


def demo(
    duration: Annotated[
        float,
        typer.Option(metavar="SECONDS", callback=check_duration, help="Seconds to run"),
    ] = 20.0,
    seed: Annotated[int, typer.Option(metavar="N", help="Simulator seed")] = 1,
) -> None:
    """Watch the local Upbit simulator while it injects faults: see upbitws recover."""
    try:
        code = asyncio.run(run_demo(duration, seed, Console()))
    except KeyboardInterrupt:  # before the view was up
        code = 130
    raise typer.Exit(code)


async def run_demo(duration: float, seed: int, console: Console) -> int:
    """The demo on ``console``; returns the exit code (0 when messages flowed)."""
    depth = 5
    subs = subscriptions_for(list(MARKETS), ["ticker", "trade", "orderbook"], depth)
    async with Simulator(seed=seed, markets=list(MARKETS)) as sim:
        view = WatchView(MARKETS, title="upbitws demo", url=sim.ws_url, depth=depth)
        view.note(f"local Upbit simulator at {sim.url} (seed {seed})")
        pending = fault_schedule(duration)

        async def tick(elapsed: float) -> None:
            while pending and elapsed >= pending[0][0]:
                _, kind, what = pending.pop(0)
                view.inject(kind, what)
                sim.apply_fault(kind)

        async with connect(
            subs, url=sim.ws_url, include_events=True, ping_interval=2.0, pong_timeout=5.0
        ) as stream:
            await drive(stream, view, console, duration=duration, tick=tick)
            stats = stream.stats()
    print(view.summary(stats, "demo"), file=sys.stderr)
    return 0 if stats.messages_received > 0 else 1
