"""``upbitws replay``: print a recording as ``upbitws stream`` printed it live."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from upbitws.cli._app import NumbersChoice, _logging
from upbitws.cli._render import describe, jsonl_line
from upbitws.exceptions import UpbitWSError

__all__ = ["replay"]


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def replay(
    path: Annotated[Path, typer.Argument(help="A recording directory or one of its files")],
    speed: Annotated[
        float | None,
        typer.Option(help="1 = real time, 10 = ten times faster (default: as fast as possible)"),
    ] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per message on stdout (exact numbers)")
    ] = False,
    types: Annotated[
        str | None, typer.Option(help="Only these types, comma-separated (trade,ticker)")
    ] = None,
    codes: Annotated[
        str | None, typer.Option(help="Only these markets (codes, comma-separated)")
    ] = None,
    numbers: Annotated[NumbersChoice, typer.Option(help="Exact or float")] = NumbersChoice.decimal,
    log_level: Annotated[str, typer.Option(help="Log level on stderr")] = "WARNING",
) -> None:
    """Replay a recording: the messages the live consumer got, in order, to stdout (as
    ``upbitws stream`` prints them); lifecycle events and warnings to stderr."""
    _logging(log_level)
    from upbitws.recording import replay as open_replay

    out = sys.stdout
    try:
        stream = open_replay(
            path,
            speed=speed,
            numbers=numbers.value,
            types=_csv(types),
            codes=_csv(codes),
            include_events=True,
        )
        for item in stream:
            if not hasattr(item, "stream_type"):
                print(f"[upbitws] {item}", file=sys.stderr, flush=True)
            elif jsonl:
                out.write(jsonl_line(item))
            else:
                out.write(describe(item) + "\n")
    except UpbitWSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except BrokenPipeError:
        raise typer.Exit(0) from None
    out.flush()
    for warning in stream.warnings:
        print(f"[upbitws] warning: {warning}", file=sys.stderr)
    print(f"[upbitws] {stream.stats().summary()}", file=sys.stderr)
