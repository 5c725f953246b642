"""Column fitting of the live view, decided without a terminal or an event loop."""

from __future__ import annotations

import io

from rich.console import Console

from upbitws.cli._view import Column, fit_table


def _text(table: object, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(table)
    return console.export_text()


def _columns() -> list[Column]:
    return [
        Column("market", ["KRW-BTC"], 0, "left"),
        Column("price", ["140,030,000"], 0),
        Column("volume 24h", ["5.24k"], 4),
        Column("change", ["+0.40%"], 1),
        Column("ask size", ["0.01049448"], 3),
        Column("bid size", ["0.03062057"], 3),
    ]


def test_columns_are_dropped_whole_by_priority_and_kept_in_order() -> None:
    wide = _text(fit_table(_columns(), 80), 80)
    assert wide.splitlines()[0].split() == [
        "market", "price", "volume", "24h", "change", "ask", "size", "bid", "size",
    ]  # fmt: skip
    narrow = _text(fit_table(_columns(), 27), 27)
    assert narrow.splitlines()[0].split() == ["market", "price", "change"]
    assert "140,030,000" in narrow
    assert "…" not in narrow


def test_grouped_columns_are_kept_or_dropped_together() -> None:
    # room for market, price, change and one size column, but the two sizes go together
    table = fit_table(_columns(), 39, together=[{4, 5}])
    header = _text(table, 39).splitlines()[0]
    assert "ask size" not in header
    assert "bid size" not in header
    table = fit_table(_columns(), 50, together=[{4, 5}])
    header = _text(table, 50).splitlines()[0]
    assert "ask size" in header
    assert "bid size" in header


def test_priority_zero_columns_are_never_dropped() -> None:
    text = _text(fit_table(_columns(), 10), 40)
    assert "KRW-BTC" in text
    assert "140,030,000" in text
