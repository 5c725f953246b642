"""``upbitws demo``: the in-process simulator, a stream from it, a live terminal view.

Midway the demo drops the connection and sends a malformed frame, so the view shows what
upbitws does about them: reconnect with backoff, restore the subscriptions, announce the
trade gap, count and skip the bad frame.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from upbitws.cli._render import kst_time
from upbitws.client.stats import format_kst
from upbitws.client.stream import connect
from upbitws.models import Orderbook, Ticker, Trade
from upbitws.protocol.subscriptions import orderbook, ticker, trade

__all__ = ["demo"]

MARKETS = ("KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "BTC-ETH", "USDT-BTC")


@dataclass
class _Row:
    price: Any = None
    change: Any = None
    bid: Any = None
    ask: Any = None
    trades: int = 0
    last_trade: int | None = None


@dataclass
class _View:
    rows: dict[str, _Row] = field(default_factory=lambda: {m: _Row() for m in MARKETS})
    events: deque[str] = field(default_factory=lambda: deque(maxlen=8))

    def update(self, item: Any) -> None:
        if isinstance(item, Ticker):
            row = self.rows[item.code]
            row.price, row.change = item.trade_price, item.signed_change_rate
        elif isinstance(item, Trade):
            row = self.rows[item.code]
            row.trades += 1
            row.last_trade = item.trade_timestamp
        elif isinstance(item, Orderbook):
            row = self.rows[item.code]
            bids, asks = item.bids, item.asks
            row.bid = bids[0].price if bids else None
            row.ask = asks[0].price if asks else None
        else:
            self.events.append(f"{format_kst(time.time())[11:19]} {_event_text(item)}")

    def table(self) -> Table:
        table = Table(title="upbitws demo — local Upbit simulator", expand=False)
        for name in ("market", "price", "change", "best bid", "best ask", "trades", "last trade"):
            table.add_column(name, justify="right" if name != "market" else "left")
        for code, row in self.rows.items():
            change = "-" if row.change is None else f"{row.change * 100:+.2f}%"
            last = kst_time(row.last_trade) if row.last_trade else "-"
            table.add_row(
                code,
                _fmt(row.price),
                change,
                _fmt(row.bid),
                _fmt(row.ask),
                str(row.trades),
                last,
            )
        return table


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _event_text(event: Any) -> str:
    name = type(event).__name__
    details = {
        k: v for k, v in getattr(event, "__dict__", {}).items() if k not in ("at", "url")
    } or {k: getattr(event, k) for k in getattr(event, "__slots__", ()) if k not in ("at", "url")}
    text = ", ".join(f"{k}={v}" for k, v in details.items())
    return f"{name}({text})"


def demo(
    duration: Annotated[float, typer.Option(help="Seconds to run (0: until Ctrl-C)")] = 20.0,
    seed: Annotated[int, typer.Option(help="Simulator seed")] = 1,
) -> None:
    """Run the local Upbit simulator and stream from it with a live view and statistics."""
    try:
        code = asyncio.run(_demo(duration or None, seed))
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


async def _demo(duration: float | None, seed: int) -> int:
    from upbitws.simulator import Simulator

    console = Console() if sys.stdout.isatty() else Console(width=120)
    view = _View()
    async with (
        Simulator(seed=seed, markets=list(MARKETS)) as sim,
        connect(
            [ticker(*MARKETS), trade(*MARKETS), orderbook(*MARKETS, depth=5)],
            url=sim.ws_url,
            include_events=True,
            ping_interval=2.0,
            pong_timeout=5.0,
        ) as stream,
    ):
        console.print(f"simulator at {sim.url} (seed {seed}); streaming {len(MARKETS)} markets")
        started = time.monotonic()
        faults = _fault_schedule(duration)

        def render() -> Group:
            stats = stream.stats()
            events = "\n".join(view.events) or "-"
            return Group(
                view.table(),
                Panel(events, title="lifecycle events"),
                Panel(stats.summary(), title="statistics (KST)"),
            )

        live = Live(render(), console=console, refresh_per_second=4, transient=False)
        interactive = console.is_terminal
        last_print = 0.0
        with live if interactive else _NoLive():
            try:
                async with asyncio.timeout(duration):
                    async for item in stream:
                        view.update(item)
                        elapsed = time.monotonic() - started
                        while faults and elapsed >= faults[0][0]:
                            _, kind = faults.pop(0)
                            view.events.append(f"demo: simulator fault {kind!r}")
                            await _apply_fault(sim, kind)
                        if interactive:
                            live.update(render())
                        elif elapsed - last_print >= 5.0:
                            last_print = elapsed
                            console.print(render())
            except TimeoutError:
                pass
        console.print(render())
        stats = stream.stats()
    ok = stats.messages_received > 0
    print(
        f"demo finished: {stats.messages_received} messages, "
        f"{stats.reconnections} reconnection(s), {stats.decode_errors} malformed frame(s) skipped",
        file=sys.stderr,
    )
    return 0 if ok else 1


def _fault_schedule(duration: float | None) -> list[tuple[float, str]]:
    span = duration or 20.0
    return [(span * 0.4, "drop"), (span * 0.7, "malformed")]


async def _apply_fault(sim: Any, kind: str) -> None:
    result = sim.apply_fault(kind=kind)
    if asyncio.iscoroutine(result):
        await result


class _NoLive:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
