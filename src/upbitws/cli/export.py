"""``upbitws export``: a recording to Parquet datasets (docs/recording.md)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from upbitws.exceptions import UpbitWSError

__all__ = ["export"]


class ExportFormat(StrEnum):
    parquet = "parquet"


def export(
    path: Annotated[Path, typer.Argument(help="A recording directory or one of its files")],
    to: Annotated[ExportFormat, typer.Option("--to", help="Output format")] = (
        ExportFormat.parquet
    ),
    out: Annotated[Path, typer.Option("--out", help="Output directory")] = Path("export"),
) -> None:
    """Export a recording: one Hive-partitioned Parquet dataset per type under OUT (exact
    decimals, UTC timestamps, orderbook units as lists of structs)."""
    from upbitws.recording.export import to_parquet

    try:
        summary = to_parquet(path, out)
    except UpbitWSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    for warning in summary.warnings:
        print(f"[upbitws] warning: {warning}", file=sys.stderr)
    for name, rows in summary.rows.items():
        print(f"{name}: {rows} rows -> {out / name}")
