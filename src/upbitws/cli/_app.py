"""The typer application: ``upbitws stream``, ``upbitws demo``, ``upbitws simulate``."""

from __future__ import annotations

import asyncio
import logging
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from upbitws.cli._inputs import LogLevel, check_duration, check_ws_url, stop_on_signals
from upbitws.cli._render import KSTFormatter, describe, jsonl_line
from upbitws.cli.ops import OpsSettings, ops_settings
from upbitws.cli.ops import attach as attach_ops
from upbitws.client.events import ErrorOccurred
from upbitws.client.options import StreamOptions
from upbitws.client.stream import connect
from upbitws.credentials import Credentials
from upbitws.exceptions import SubscriptionError, UpbitWSError
from upbitws.protocol.subscriptions import Subscription, is_private, orderbook

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
        return orderbook(*codes, depth=depth, level=level)  # validates the level: one line
    if depth is not None or level is not None:
        raise typer.BadParameter("--depth and --level apply to orderbook only")
    return Subscription(type_, tuple(codes))


def _subscriptions(
    types: str, codes: list[str], depth: int | None, level: str | None
) -> list[Subscription]:
    """``trade,ticker,orderbook``: one subscription per type, the same codes each."""
    names = [t.strip() for t in types.split(",") if t.strip()]
    if not names:
        raise typer.BadParameter(f"no type in {types!r}: e.g. trade or trade,ticker,orderbook")
    if "orderbook" not in names and (depth is not None or level is not None):
        raise typer.BadParameter("--depth and --level apply to orderbook only")
    return [
        _subscription(t, codes, *((depth, level) if t == "orderbook" else (None, None)))
        for t in names
    ]


def stream(
    type_: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="ticker, trade, orderbook, candle.1s … candle.240m, myOrder, myAsset, "
            "announcement; several comma-separated (trade,ticker)",
        ),
    ],
    codes: Annotated[
        list[str] | None, typer.Argument(metavar="CODE", help="Markets, e.g. KRW-BTC")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            callback=check_ws_url,
            help="WebSocket URL, ws:// or wss:// (default: the region's host); one ending in "
            "/private is the private endpoint",
        ),
    ] = None,
    private_url: Annotated[
        str | None,
        typer.Option(help="Private WebSocket URL (default: the public URL + /private)"),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(help="Give up after this many failed attempts in a row (default: never)"),
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
        float | None,
        typer.Option(
            metavar="SECONDS",
            callback=check_duration,
            help="Stop after this many seconds (default: run until Ctrl-C)",
        ),
    ] = None,
    stats_interval: Annotated[
        float | None, typer.Option(help="Log a statistics line every N seconds")
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Log level on stderr")
    ] = LogLevel.warning,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per message on stdout (exact numbers)")
    ] = False,
    # -- operations (docs/operations.md): metrics endpoint and alerts --
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve /metrics and /healthz on this port"),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address for --metrics-port")] = "127.0.0.1",
    alert_webhook: Annotated[
        str | None, typer.Option(help="POST every alert raise / resolve to this URL")
    ] = None,
    alert: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE or NAME=off, repeatable, e.g. --alert disconnected=30"),
    ] = None,
) -> None:
    """Stream one type of Upbit data to stdout; lifecycle events and logs go to stderr.

    Private types read UPBIT_OPEN_API_ACCESS_KEY / UPBIT_OPEN_API_SECRET_KEY from the
    environment (keys are never taken as arguments).
    """
    _logging(log_level.value)
    options: dict[str, Any] = {
        "url": url,
        "private_url": private_url,
        "max_retries": max_retries,
        "region": region,
        "numbers": numbers.value,
        "keepalive": keepalive.value,
        "ping_interval": ping_interval,
        "pong_timeout": pong_timeout,
        "stats_interval": stats_interval,
        "include_events": True,
    }
    try:
        StreamOptions(**options)  # a wrong --url is an input mistake: one line, exit 2
        sub = _subscriptions(type_, codes or [], depth, level)
        credentials = Credentials.from_env() if any(is_private(s.type) for s in sub) else None
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    ops = ops_settings(metrics_port, metrics_host, alert_webhook, alert)
    code = _run(_stream(sub, format.value.upper(), credentials, options, duration, jsonl, ops))
    raise typer.Exit(code)


async def _stream(
    sub: list[Subscription],
    format: str,
    credentials: Credentials | None,
    options: dict[str, Any],
    duration: float | None,
    jsonl: bool,
    ops: OpsSettings | None = None,
) -> int:
    out = sys.stdout
    try:
        async with (
            connect(sub, format=format, credentials=credentials, **options) as stream,
            attach_ops(ops, stream),
        ):
            try:
                async with asyncio.timeout(duration) as deadline:
                    with stop_on_signals(deadline):  # Ctrl-C / SIGTERM end it like --duration
                        async for item in stream:
                            if isinstance(item, ErrorOccurred) and item.fatal:
                                continue  # the one "error:" line below says it
                            if not hasattr(item, "stream_type"):
                                print(f"[upbitws] {item}", file=sys.stderr, flush=True)
                            elif jsonl:
                                out.write(jsonl_line(item))
                            else:
                                out.write(describe(item) + "\n")
            except TimeoutError:
                pass
            print(f"[upbitws] {stream.stats().summary()}", file=sys.stderr)
    except SubscriptionError as exc:  # a code or level the exchange does not list: input
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KSTFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler])


def _version(value: bool) -> None:
    if value:
        from upbitws import __version__

        typer.echo(f"upbitws {__version__}")
        raise typer.Exit(0)


def _top(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Upbit real-time WebSocket client, live view and local simulator."""


def build_app() -> typer.Typer:
    """The ``upbitws`` command."""
    app = typer.Typer(
        name="upbitws",
        help="Upbit real-time WebSocket client, live view and local simulator.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,  # plain help: no type placeholders, no words broken in boxes
        pretty_exceptions_enable=False,
    )
    app.callback()(_top)
    app.command(help=stream.__doc__, short_help="Print Upbit data as lines or JSON")(stream)
    from upbitws.cli.demo import demo

    app.command(short_help="Watch the simulator recover from faults")(demo)
    from upbitws.cli.markets import markets
    from upbitws.cli.watch import watch

    app.command(short_help="List Upbit's pairs with warning flags")(markets)
    app.command(short_help="Live view of markets and the connection")(watch)
    from upbitws.cli.collect import collect
    from upbitws.cli.tail import tail

    app.command(short_help="Collect markets into Redis Streams, sharded")(collect)
    app.command(short_help="Read a collector group's Redis Streams")(tail)
    try:
        from upbitws.cli.simulate import simulate
    except ImportError:  # pragma: no cover - the simulator command is part of the package
        pass
    else:
        app.command(short_help="Run a local Upbit (WebSocket + REST)")(simulate)
    from upbitws.cli.record import record
    from upbitws.cli.replay import replay

    app.command(help=record.__doc__, short_help="Record streams to crash-safe files")(record)
    app.command(help=replay.__doc__, short_help="Replay a recording like a live stream")(replay)
    from upbitws.cli.export import export

    app.command(help=export.__doc__, short_help="Export a recording to Parquet")(export)
    return app
