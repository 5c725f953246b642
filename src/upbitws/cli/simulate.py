"""``upbitws simulate``: run the local Upbit simulator (or its benchmark feed) until stopped.

The first stdout line is always ``upbitws simulator listening on http://HOST:PORT`` (flushed),
so scripts can wait for it; SIGINT and SIGTERM close every connection and exit 0.

Listening on anything but loopback needs ``--allow-remote`` (and prints a warning): the
``/_sim/*`` control routes place orders and inject faults. ``--control-token`` (or
``UPBIT_SIM_CONTROL_TOKEN``) makes them require ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
import sys
from enum import StrEnum
from typing import Annotated

import typer

from upbitws.protocol.formats import Format
from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Simulator
from upbitws.simulator.bench import BenchConfig, BenchReport, BenchServer
from upbitws.simulator.server import is_loopback

__all__ = ["simulate"]

DEFAULT_PORT = 8765


class AuthFailure(StrEnum):
    by_case = "by_case"
    frame = "frame"
    http = "http"


class RateLimitAnswer(StrEnum):
    http = "http"
    frame = "frame"


class BenchFeed(StrEnum):
    trade = "trade"
    ticker = "ticker"
    orderbook = "orderbook"
    mix = "mix"


def simulate(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (not loopback: needs --allow-remote)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port)")] = DEFAULT_PORT,
    seed: Annotated[int, typer.Option(help="Seed: fixes every market's trade tape")] = 1,
    markets: Annotated[
        str | None, typer.Option(help="Comma-separated codes, e.g. KRW-BTC,KRW-ETH")
    ] = None,
    market_count: Annotated[
        int | None, typer.Option(help="Serve the first N catalog markets (default 12)")
    ] = None,
    idle_timeout: Annotated[
        float, typer.Option(help="Seconds without a received frame before an abrupt close")
    ] = 60.0,
    status_interval: Annotated[
        float, typer.Option(help='Seconds between {"status":"UP"} after a text PING')
    ] = 10.0,
    rate: Annotated[float, typer.Option(help="Trade-rate multiplier for every market")] = 1.0,
    access_key: Annotated[
        str,
        typer.Option(
            envvar="UPBIT_SIM_ACCESS_KEY",
            help="The simulator's access key (default: a built-in test key)",
            show_default=False,
        ),
    ] = DEFAULT_ACCESS_KEY,
    secret_key: Annotated[
        str | None,
        typer.Option(
            envvar="UPBIT_SIM_SECRET_KEY",
            help="The simulator's secret key (default: a built-in test key)",
            show_default=False,
        ),
    ] = None,
    auth_failure: Annotated[
        AuthFailure,
        typer.Option(
            help="Bad JWT: by_case (missing: INVALID_AUTH frame; bad: HTTP 401), frame, or http"
        ),
    ] = AuthFailure.by_case,
    rate_limit_answer: Annotated[
        RateLimitAnswer, typer.Option(help="Over the connect limit: HTTP 429, or error frame")
    ] = RateLimitAnswer.http,
    connect_limit: Annotated[
        int, typer.Option(help="Upgrades per second per IP / access key (0: off)")
    ] = 5,
    block_after_429s: Annotated[
        int, typer.Option(help="After N 429s in a minute, answer 418 with a growing block (0: off)")
    ] = 0,
    max_queue_bytes: Annotated[
        int, typer.Option(help="Queued bytes per connection before a slow consumer is cut")
    ] = 4 * 2**20,
    send_budget_bytes: Annotated[
        int, typer.Option(help="Queued bytes over all connections (0: no budget)")
    ] = 64 * 2**20,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Allow a --host other than loopback (the network can reach it)"
        ),
    ] = False,
    control_token: Annotated[
        str | None,
        typer.Option(
            envvar="UPBIT_SIM_CONTROL_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' on the /_sim control routes",
            show_default=False,
        ),
    ] = None,
    bench_feed: Annotated[
        BenchFeed | None, typer.Option(help="Benchmark mode: push this feed to every connection")
    ] = None,
    bench_rate: Annotated[
        float, typer.Option(help="Benchmark messages per second (0: as fast as possible)")
    ] = 0.0,
    bench_count: Annotated[int, typer.Option(help="Benchmark frames per connection")] = 100_000,
    bench_format: Annotated[
        Format, typer.Option(help="Benchmark format when the subscribe request names none")
    ] = Format.DEFAULT,
    replay: Annotated[
        str | None, typer.Option(help="Serve this recording (upbitws record) instead")
    ] = None,
    speed: Annotated[float, typer.Option(help="Replay pace: 1 real time, 10 ten times")] = 1.0,
) -> None:
    """Run a local Upbit (WebSocket + REST on one port) until SIGINT/SIGTERM."""
    control_hosts: tuple[str, ...] = ()
    if not is_loopback(host):
        if not allow_remote:
            typer.echo(
                f"error: --host {host} is not loopback: anyone who can reach it can use the "
                "simulator and its /_sim control routes; pass --allow-remote to do it on purpose",
                err=True,
            )
            raise typer.Exit(2)
        typer.echo(
            f"warning: listening on {host}: the simulator and its /_sim control routes (orders, "
            "faults) are reachable from the network"
            + ("" if control_token else "; set --control-token to protect the control routes"),
            err=True,
        )
        wildcard = host in ("0.0.0.0", "::", "")
        control_hosts = ("*",) if control_token else (() if wildcard else (host,))
    if bench_feed is not None:
        bench = BenchServer(
            BenchConfig(
                feed=bench_feed.value,
                format=bench_format.value,
                rate=bench_rate or None,
                count=bench_count,
                seed=seed,
                host=host,
                port=port,
            )
        )
        asyncio.run(_serve_bench(bench))
        return
    try:
        sim = Simulator(
            seed=seed,
            markets=[m for m in markets.split(",") if m.strip()] if markets else None,
            market_count=market_count,
            idle_timeout=idle_timeout,
            status_interval=status_interval,
            trade_rate=rate,
            access_key=access_key,
            secret_key=secret_key or DEFAULT_SECRET_KEY,
            auth_failure=auth_failure.value,
            rate_limit_answer=rate_limit_answer.value,
            connect_limit=connect_limit or None,
            block_after_429s=block_after_429s or None,
            max_queue_bytes=max_queue_bytes,
            send_budget_bytes=send_budget_bytes or None,
            control_token=control_token or None,
            control_hosts=control_hosts,
            host=host,
            port=port,
            replay=replay,
            replay_speed=speed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    asyncio.run(_serve(sim))


async def _until_signalled() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)


def _key_exports(sim: Simulator) -> list[str]:
    """The shell lines that point the client at the simulator's keys. The built-in test keys
    are printed whole (they open nothing but this simulator); a secret the user chose
    (``--secret-key`` / ``UPBIT_SIM_SECRET_KEY``) is never printed, only referred to."""
    config = sim.config
    access = f"export UPBIT_OPEN_API_ACCESS_KEY={shlex.quote(config.access_key)}"
    if config.secret_key == DEFAULT_SECRET_KEY:
        return [
            "# the simulator's built-in test keys (not Upbit's), for private streams against it:",
            access,
            f"export UPBIT_OPEN_API_SECRET_KEY={shlex.quote(config.secret_key)}",
        ]
    return [
        "# for private streams against it (the secret is the one you set, not printed):",
        access,
        'export UPBIT_OPEN_API_SECRET_KEY="$UPBIT_SIM_SECRET_KEY"',
    ]


def _announce(url: str, *lines: str) -> None:
    print(f"upbitws simulator listening on {url}", flush=True)
    for line in lines:
        print(line, flush=True)


async def _serve(sim: Simulator) -> None:
    async with sim:
        markets = ", ".join(sim.exchange.markets)
        _announce(
            sim.url,
            f"public   {sim.ws_url}",
            f"private  {sim.private_ws_url}  (access key {sim.config.access_key})",
            f"markets  {markets}",
            *_key_exports(sim),
        )
        await _until_signalled()
    print("upbitws simulator stopped", file=sys.stderr, flush=True)


async def _serve_bench(bench: BenchServer) -> None:
    def report(result: BenchReport) -> None:
        print(result.describe(), flush=True)

    bench.on_report = report
    async with bench:
        cfg = bench.config
        pace = f"{cfg.rate:,.0f} msgs/s" if cfg.rate else "as fast as possible"
        _announce(
            bench.url,
            f"bench    {bench.ws_url}: {cfg.count} {cfg.feed} frames ({cfg.format}) per "
            f"connection, {pace}",
        )
        await _until_signalled()
    print("upbitws simulator stopped", file=sys.stderr, flush=True)
