"""The typer application: ``upbitws stream``, ``upbitws demo``, ``upbitws simulate``."""

from __future__ import annotations

import asyncio
import logging
import sys
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer

from upbitws.cli._render import describe, jsonl_line
from upbitws.client.stream import connect
from upbitws.credentials import Credentials
from upbitws.exceptions import UpbitWSError
from upbitws.protocol.subscriptions import Subscription, is_private

__all__ = ["build_app"]


class FormatChoice(StrEnum):
    default = "default"
    simple = "simple"
    json_list = "json_list"
    simple_list = "simple_list"


class KeepaliveChoice(StrEnum):
    ping = "ping"
    status = "status"


class NumbersChoice(StrEnum):
    decimal = "decimal"
    float = "float"


def _subscription(
    type_: str, codes: list[str], depth: int | None, level: str | None
) -> Subscription:
    if type_ == "orderbook":
        return Subscription(
            "orderbook", tuple(codes), depth=depth, level=Decimal(level) if level else None
        )
    if depth is not None or level is not None:
        raise typer.BadParameter("--depth and --level apply to orderbook only")
    return Subscription(type_, tuple(codes))


def stream(
    type_: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="ticker, trade, orderbook, candle.1s … candle.240m, myOrder, myAsset, "
            "announcement",
        ),
    ],
    codes: Annotated[
        list[str] | None, typer.Argument(metavar="[CODE]...", help="Markets, e.g. KRW-BTC")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Public WebSocket URL (default: the region's host)")
    ] = None,
    region: Annotated[str, typer.Option(help="kr, sg, id or th")] = "kr",
    depth: Annotated[int | None, typer.Option(help="Orderbook depth: 1, 5, 15 or 30")] = None,
    level: Annotated[str | None, typer.Option(help="Orderbook price grouping (KRW)")] = None,
    format: Annotated[FormatChoice, typer.Option(help="Wire format")] = FormatChoice.default,
    numbers: Annotated[NumbersChoice, typer.Option(help="Exact or float")] = NumbersChoice.decimal,
    keepalive: Annotated[KeepaliveChoice, typer.Option(help="ping frames or text PING")] = (
        KeepaliveChoice.ping
    ),
    ping_interval: Annotated[float, typer.Option(help="Seconds between pings")] = 10.0,
    pong_timeout: Annotated[float, typer.Option(help="Seconds to wait for a pong")] = 30.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)")
    ] = None,
    stats_interval: Annotated[
        float | None, typer.Option(help="Log a statistics line every N seconds")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level on stderr")] = "WARNING",
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per message on stdout (exact numbers)")
    ] = False,
) -> None:
    """Stream one type of Upbit data to stdout; lifecycle events and logs go to stderr.

    Private types read UPBIT_OPEN_API_ACCESS_KEY / UPBIT_OPEN_API_SECRET_KEY from the
    environment (keys are never taken as arguments).
    """
    _logging(log_level)
    try:
        sub = _subscription(type_, codes or [], depth, level)
        credentials = Credentials.from_env() if is_private(sub.type) else None
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    options: dict[str, Any] = {
        "url": url,
        "region": region,
        "numbers": numbers.value,
        "keepalive": keepalive.value,
        "ping_interval": ping_interval,
        "pong_timeout": pong_timeout,
        "stats_interval": stats_interval,
        "include_events": True,
    }
    code = _run(_stream(sub, format.value.upper(), credentials, options, duration, jsonl))
    raise typer.Exit(code)


async def _stream(
    sub: Subscription,
    format: str,
    credentials: Credentials | None,
    options: dict[str, Any],
    duration: float | None,
    jsonl: bool,
) -> int:
    out = sys.stdout
    try:
        async with connect(sub, format=format, credentials=credentials, **options) as stream:
            try:
                async with asyncio.timeout(duration):
                    async for item in stream:
                        if not hasattr(item, "stream_type"):
                            print(f"[upbitws] {item}", file=sys.stderr, flush=True)
                        elif jsonl:
                            out.write(jsonl_line(item))
                        else:
                            out.write(describe(item) + "\n")
            except TimeoutError:
                pass
            print(f"[upbitws] {stream.stats().summary()}", file=sys.stderr)
    except UpbitWSError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(coro: Any) -> int:
    try:
        return int(asyncio.run(coro))
    except KeyboardInterrupt:
        return 130


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


def build_app() -> typer.Typer:
    """The ``upbitws`` command."""
    app = typer.Typer(
        name="upbitws",
        help="Upbit real-time WebSocket client, live view and local simulator.",
        no_args_is_help=True,
        add_completion=False,
    )
    app.command(help=stream.__doc__)(stream)
    from upbitws.cli.demo import demo

    app.command()(demo)
    from upbitws.cli.collect import collect

    app.command()(collect)
    from upbitws.cli.tail import tail

    app.command()(tail)
    try:
        from upbitws.cli.simulate import simulate
    except ImportError:  # pragma: no cover - the simulator command is part of the package
        pass
    else:
        app.command()(simulate)
    return app
