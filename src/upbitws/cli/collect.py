"""``upbitws collect``: one collector of a group writing Upbit data to Redis Streams.

Run the same command on several hosts (or several times on one): the markets are split into
shards held under Redis leases; SIGTERM hands this collector's shards over at once; a
collector that dies is replaced after ``--lease-ttl`` seconds (docs/scale-out.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal
import sys
from typing import Annotated, Any

import aiohttp
import msgspec
import typer

from upbitws.client.options import public_url
from upbitws.client.rest import rest_base_url
from upbitws.exceptions import UpbitWSError

__all__ = ["collect", "fetch_markets"]


class _Market(msgspec.Struct):
    market: str


async def fetch_markets(ws_url: str, quote: str | None) -> list[str]:
    """Codes from REST ``/v1/market/all`` (protocol §10), optionally of one quote currency."""
    url = rest_base_url(ws_url) + "/v1/market/all"
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            body = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise UpbitWSError(f"cannot list markets from {url}: {type(exc).__name__}: {exc}") from exc
    if status != 200:
        raise UpbitWSError(f"cannot list markets from {url}: HTTP {status}")
    try:
        rows = msgspec.json.decode(body, type=list[_Market])
    except msgspec.DecodeError as exc:
        raise UpbitWSError(f"unexpected /v1/market/all body from {url}: {exc}") from exc
    codes = [r.market for r in rows]
    if quote:
        codes = [c for c in codes if c.split("-")[0] == quote.upper()]
    return codes


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def collect(
    redis: Annotated[str, typer.Option("--redis", help="redis://HOST:PORT/DB")],
    group: Annotated[str, typer.Option(help="Collector group name (shared by its members)")],
    types: Annotated[str, typer.Option(help="Comma-separated: trade,ticker,orderbook")] = (
        "trade,ticker,orderbook"
    ),
    markets: Annotated[
        str | None, typer.Option(help="Comma-separated codes, e.g. KRW-BTC,KRW-ETH")
    ] = None,
    quote: Annotated[
        str | None, typer.Option(help="Every market of a quote currency (from REST), e.g. KRW")
    ] = None,
    all_markets: Annotated[
        bool, typer.Option("--all-markets", help="Every market (from REST)")
    ] = False,
    shards: Annotated[int, typer.Option(help="Shards of the group (fixed per group)")] = 16,
    lease_ttl: Annotated[
        float, typer.Option(help="Seconds a dead collector's shards wait before takeover")
    ] = 5.0,
    url: Annotated[
        str | None, typer.Option(help="Public WebSocket URL (default: api.upbit.com)")
    ] = None,
    maxlen: Annotated[
        int, typer.Option(help="Approximate entries kept per stream (0: no trimming)")
    ] = 100_000,
    dedupe: Annotated[int, typer.Option(help="Trade ids remembered per market in Redis")] = 4096,
    member: Annotated[
        str | None,
        typer.Option(
            help="This collector's name (default: the host name, the pid and a random suffix)"
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level on stderr")] = "WARNING",
) -> None:
    """Collect Upbit data into Redis Streams as one member of a sharded group that survives
    the loss of any member."""
    from upbitws.cli._app import _logging

    _logging(log_level)
    chosen = [bool(markets), bool(quote), all_markets]
    if sum(chosen) != 1:
        raise _fail("choose exactly one of --markets A,B / --quote KRW / --all-markets")
    if shards < 1 or not lease_ttl > 0:
        raise _fail("--shards must be >= 1 and --lease-ttl > 0 seconds")
    if metrics_port is not None and importlib.util.find_spec("upbitws.metrics") is None:
        print("[upbitws] --metrics-port: metrics are not available yet", file=sys.stderr)
    ws_url = url or public_url("kr")
    type_list = [t.strip() for t in types.split(",") if t.strip()]
    try:
        from upbitws.redis import Collector
        from upbitws.redis._client import check_url

        check_url(redis)
        codes = (
            [c.strip().upper() for c in markets.split(",") if c.strip()]
            if markets
            else asyncio.run(fetch_markets(ws_url, quote))
        )
        collector = Collector(
            redis,
            group=group,
            markets=codes,
            types=type_list,
            shards=shards,
            lease_ttl=lease_ttl,
            url=ws_url,
            maxlen=maxlen,
            dedupe=dedupe,
            member=member,
        )
    except UpbitWSError as exc:
        raise _fail(str(exc)) from None
    print(
        f"upbitws collect: member {collector.member} of group {group!r}, {len(codes)} markets "
        f"in {shards} shards, types {','.join(collector.types)}",
        flush=True,
    )
    code = 0
    try:
        asyncio.run(_collect(collector))
    except* UpbitWSError as group_error:
        print(f"error: {group_error.exceptions[0]}", file=sys.stderr)
        code = 1
    except* KeyboardInterrupt:
        code = 130
    s = collector.stats
    print(
        f"[upbitws] stopped: received {s.received}, written {s.written}, duplicates "
        f"{s.duplicates}, fenced {s.fenced}, dropped {s.dropped}",
        file=sys.stderr,
        flush=True,
    )
    raise typer.Exit(code)


async def _collect(collector: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await collector.run(stop)
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
