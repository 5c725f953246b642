"""``upbitws tail``: read a collector group's data back out of Redis, output like ``stream``.

Each ``tail`` is one consumer of a Redis consumer group: several tails (or programs using
``upbitws.redis.subscribe``) with the same ``--consumer-group`` share the entries; one that
dies leaves its unacknowledged entries to the others (claimed after ``--claim-after``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from typing import Annotated, Any

import typer

from upbitws.cli._render import describe, jsonl_line
from upbitws.exceptions import UpbitWSError

__all__ = ["tail"]


def tail(
    types: Annotated[str, typer.Argument(metavar="TYPES", help="trade,ticker,orderbook")],
    codes: Annotated[list[str], typer.Argument(metavar="CODE...", help="Markets, e.g. KRW-BTC")],
    redis: Annotated[str, typer.Option("--redis", help="redis://HOST:PORT/DB")],
    group: Annotated[str, typer.Option(help="The collector group (upbitws collect --group)")],
    consumer_group: Annotated[
        str, typer.Option(help="Redis consumer group: tails sharing it split the entries")
    ] = "upbitws-tail",
    consumer: Annotated[
        str | None, typer.Option(help="This consumer's name (default: host-pid)")
    ] = None,
    start: Annotated[
        str, typer.Option(help="Where a new consumer group starts: $ (new) or 0 (all kept)")
    ] = "$",
    claim_after: Annotated[
        float, typer.Option(help="Claim a dead consumer's entries idle this many seconds")
    ] = 30.0,
    numbers: Annotated[str, typer.Option(help="decimal (exact) or float")] = "decimal",
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per message on stdout (exact numbers)")
    ] = False,
) -> None:
    """Print a collector group's messages from Redis Streams (one consumer of a group)."""
    try:
        from upbitws.redis import subscribe

        sub = subscribe(
            redis,
            group=group,
            types=[t.strip() for t in types.split(",") if t.strip()],
            codes=codes,
            consumer_group=consumer_group,
            consumer=consumer or f"{socket.gethostname()}-{os.getpid()}",
            numbers=numbers,
            start=start,
            claim_after=claim_after,
        )
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(_tail(sub, duration, jsonl))
    except UpbitWSError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _tail(sub: Any, duration: float | None, jsonl: bool) -> None:
    out = sys.stdout
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with sub, asyncio.timeout(duration):
            async for item in sub:
                out.write(jsonl_line(item) if jsonl else describe(item) + "\n")
                out.flush()
    except (TimeoutError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(ValueError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
