"""``upbitws markets``: the pairs Upbit lists, with names and warning / caution flags."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from upbitws.cli._inputs import check_rest_url
from upbitws.client.markets import markets as fetch_markets
from upbitws.exceptions import UpbitWSError
from upbitws.protocol.markets import MarketInfo

__all__ = ["markets"]


def markets(
    quote: Annotated[
        str | None,
        typer.Option(metavar="QUOTE", help="Only pairs quoted in this currency: KRW, BTC, USDT"),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON array on stdout instead of a table")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            callback=check_rest_url,
            help="Exchange URL: a WebSocket URL or a REST origin (default: api.upbit.com)",
        ),
    ] = None,
) -> None:
    """List the pairs Upbit trades (REST /v1/market/all), with warning and caution flags."""
    try:
        found = asyncio.run(fetch_markets(quote=quote, url=url))
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if json_out:
        sys.stdout.write(json.dumps([_as_dict(m) for m in found], ensure_ascii=False) + "\n")
        return
    Console().print(_table(found, quote))


def _as_dict(m: MarketInfo) -> dict[str, object]:
    return {
        "market": m.code,
        "korean_name": m.korean_name,
        "english_name": m.english_name,
        "warning": m.warning,
        "cautions": list(m.cautions),
    }


def _table(found: list[MarketInfo], quote: str | None) -> Table:
    title = f"{len(found)} {quote.upper() + ' ' if quote else ''}pairs"
    table = Table(title=title, title_justify="left")
    table.add_column("market", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("korean", overflow="fold")
    table.add_column("flags", overflow="fold")
    for m in found:
        flags = ["WARNING"] if m.warning else []
        flags += [c.lower() for c in m.cautions]
        table.add_row(m.code, m.english_name, m.korean_name, ", ".join(flags) or "-")
    return table
