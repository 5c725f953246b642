"""``upbitws watch CODE…``: a live terminal view of any exchange URL (the real Upbit by default).

A market table (price, change, 24 h volume, best bid/ask, spread, trades/s), the first
market's orderbook ladder and trade tape, and a connection panel (state, reconnects, gaps
split into recovered / healed by snapshot / unrecoverable, latency). It redraws in place and
ends cleanly — Ctrl-C, SIGTERM or ``--duration`` — with a one-line summary on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from upbitws.cli._inputs import check_duration, check_ws_url
from upbitws.cli._view import WatchView
from upbitws.client.options import public_url
from upbitws.client.stream import Stream, connect
from upbitws.exceptions import SubscriptionError, UpbitWSError
from upbitws.protocol.subscriptions import (
    ORDERBOOK_DEPTHS,
    Subscription,
    orderbook,
    ticker,
    trade,
)

__all__ = ["drive", "subscriptions_for", "watch"]

WATCH_TYPES = ("ticker", "trade", "orderbook")
#: Seconds between redraws.
REFRESH = 0.25

Tick = Callable[[float], Awaitable[None]]


def subscriptions_for(codes: list[str], types: list[str], depth: int) -> list[Subscription]:
    """The subscriptions behind the view: ``depth`` ladder levels need the next wire depth."""
    wire_depth = next(d for d in ORDERBOOK_DEPTHS if d >= depth)
    make = {
        "ticker": lambda: ticker(*codes),
        "trade": lambda: trade(*codes),
        "orderbook": lambda: orderbook(*codes, depth=wire_depth),
    }
    return [make[t]() for t in types]


def _types(value: str) -> str:
    types = [t.strip() for t in value.split(",") if t.strip()]
    bad = [t for t in types if t not in WATCH_TYPES]
    if bad or not types:
        raise typer.BadParameter(
            f"{value!r}: use a comma-separated subset of {','.join(WATCH_TYPES)}"
        )
    return ",".join(dict.fromkeys(types))


def _depth(value: int) -> int:
    if not 1 <= value <= 30:
        raise typer.BadParameter(f"{value} levels: show between 1 and 30")
    return value


@contextlib.contextmanager
def _signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM end the view the way ``--duration`` does (summary included)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)


@contextlib.contextmanager
def _events_in_view(view: WatchView) -> Iterator[None]:
    """While the screen is live, upbitws log records go to the view, not across it."""
    logger = logging.getLogger("upbitws")
    logger.addHandler(view.log_handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(view.log_handler)
        logger.propagate = propagate


async def _consume(stream: Stream, view: WatchView) -> None:
    try:
        async for item in stream:
            view.update(item)
    except UpbitWSError as exc:  # fatal or retries exhausted: shown, then the view ends
        view.error = exc


async def drive(
    stream: Stream,
    view: WatchView,
    console: Console,
    *,
    duration: float | None,
    tick: Tick | None = None,
) -> None:
    """Show ``view`` over ``stream`` until ``duration``, a signal, or the stream's end.

    On a terminal the frame is redrawn in place and left on screen at the end (printed once);
    otherwise one frame is printed at the end. ``tick(elapsed)`` runs before each redraw (the
    demo schedules its faults there).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration

    def frame() -> object:
        width, height = console.size
        return view.render(stream.stats(), width, height)

    interactive = console.is_terminal
    live = Live(console=console, auto_refresh=False, transient=False, redirect_stderr=False)
    with _signals(stop), _events_in_view(view):
        async with _owned(_consume(stream, view)) as consumer:
            with live if interactive else contextlib.nullcontext():
                while not stop.is_set() and not consumer.done():
                    if deadline is not None and loop.time() >= deadline:
                        break
                    if tick is not None:
                        await tick(view.running())
                    if interactive:
                        live.update(frame(), refresh=True)  # type: ignore[arg-type]
                    wait = REFRESH if deadline is None else min(REFRESH, deadline - loop.time())
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(wait, 0.0)):
                            await stop.wait()
                if interactive:
                    live.update(frame(), refresh=True)  # type: ignore[arg-type]
    if not interactive:
        console.print(frame())


@contextlib.asynccontextmanager
async def _owned(coro: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``coro`` as a task of a TaskGroup for the block; cancel it when the block ends."""
    async with asyncio.TaskGroup() as group:
        task: asyncio.Task[None] = group.create_task(coro)  # type: ignore[arg-type]
        try:
            yield task
        finally:
            task.cancel()


def watch(
    codes: Annotated[
        list[str], typer.Argument(metavar="CODE...", help="Markets, e.g. KRW-BTC KRW-ETH")
    ],
    url: Annotated[
        str | None,
        typer.Option(
            metavar="WS_URL",
            callback=check_ws_url,
            help="Exchange WebSocket URL (default: wss://api.upbit.com/websocket/v1)",
        ),
    ] = None,
    types: Annotated[
        str,
        typer.Option(
            metavar="TYPES", callback=_types, help="Comma-separated: ticker,trade,orderbook"
        ),
    ] = "ticker,trade,orderbook",
    depth: Annotated[
        int,
        typer.Option(metavar="N", callback=_depth, help="Orderbook levels shown per side (1-30)"),
    ] = 10,
    duration: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS", callback=check_duration, help="Stop after this many seconds"
        ),
    ] = None,
) -> None:
    """Live view of markets: prices, orderbook, trades and the connection's health."""
    kinds = types.split(",")
    try:
        subs = subscriptions_for(codes, kinds, depth)
    except UpbitWSError as exc:
        raise typer.BadParameter(str(exc), param_hint="CODE") from None
    endpoint = url or public_url("kr")
    view = WatchView(
        list(subs[0].codes), title="upbitws watch", url=endpoint, depth=depth, types=kinds
    )
    try:
        code = asyncio.run(_watch(subs, endpoint, view, duration))
    except KeyboardInterrupt:  # before the view was up (while connecting)
        code = 130
    raise typer.Exit(code)


async def _watch(
    subs: list[Subscription], url: str, view: WatchView, duration: float | None
) -> int:
    console = Console()
    try:
        async with connect(subs, url=url, include_events=True) as stream:
            await drive(stream, view, console, duration=duration)
            stats = stream.stats()
    except SubscriptionError as exc:  # a code or level the exchange does not have: input
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UpbitWSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(view.summary(stats, "watch"), file=sys.stderr)
    return 1 if view.error is not None else 0
