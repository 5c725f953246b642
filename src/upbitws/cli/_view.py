"""The live terminal view of ``upbitws watch`` and ``upbitws demo``: state and rendering.

:class:`WatchView` keeps what the screen shows (updated from the stream's items) and renders
one frame for a given terminal size. The layout is planned for the size, top to bottom: a
header, the market table, the selected market's orderbook ladder beside its trade tape, and
the connection panel. Nothing is ever cut: table columns are dropped whole, by priority,
when they do not fit (a price is never shown as ``140,030,…``), and rows are dropped from the
bottom of the ladder, tape and event list when the height runs out.
"""

from __future__ import annotations

import logging
import textwrap
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from upbitws.cli._render import kst_time, num, pct
from upbitws.client.events import (
    Connected,
    Disconnected,
    ErrorOccurred,
    GapDetected,
    GapFilled,
    GapUnrecoverable,
    Reconnected,
    Reconnecting,
)
from upbitws.client.stats import StatsSnapshot
from upbitws.models import Orderbook, Ticker, Trade

__all__ = ["Column", "WatchView", "fit_table", "seconds"]

_RATE_WINDOW = 10.0  # seconds of trades behind "trades/s"
_RISE, _FALL = "red", "blue"  # Upbit's colours: red up, blue down


def seconds(value: float) -> str:
    """``0.39 s``, ``12 s``, ``3 min 05 s``."""
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.0f} s"
    minutes, secs = divmod(int(value), 60)
    return f"{minutes} min {secs:02d} s"


@dataclass
class Column:
    """One table column: header, cells (already formatted), and how important it is."""

    header: str
    cells: list[str]
    priority: int  # lower is kept longer; 0 is never dropped
    justify: str = "right"
    styles: list[str] | None = None

    @property
    def width(self) -> int:
        return max([len(self.header), *(len(c) for c in self.cells)])


def fit_table(
    columns: Sequence[Column],
    width: int,
    *,
    title: str | None = None,
    together: Sequence[set[int]] = (),
) -> Table:
    """A borderless table of the columns that fit ``width`` whole, most important first, shown
    in their given order; every kept column gets the width of its widest cell, so nothing in
    it is cut or wrapped. Each set in ``together`` (column indexes) is kept or dropped whole
    (a ladder shows both sides' sizes or neither)."""
    kept: set[int] = set()
    used = 0
    for index in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        if index in kept:
            continue
        group = next((g for g in together if index in g), {index})
        need = sum(columns[i].width + 1 for i in group) - (0 if kept else 1)  # 1 space between
        if used + need <= width or columns[index].priority == 0:
            kept |= group
            used += need
    # One space right of every column but the last (pad_edge drops the outer one).
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False, title=title)
    table.title_justify = "left"
    shown = [c for i, c in enumerate(columns) if i in kept]
    for column in shown:
        table.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            no_wrap=True,
            min_width=column.width,
            overflow="ignore",
        )
    rows = max((len(c.cells) for c in shown), default=0)
    for r in range(rows):
        cells: list[RenderableType] = []
        for column in shown:
            value = column.cells[r] if r < len(column.cells) else ""
            style = column.styles[r] if column.styles and r < len(column.styles) else ""
            cells.append(Text(value, style=style))
        table.add_row(*cells)
    return table


@dataclass
class _Row:
    price: Any = None
    change: str = "EVEN"
    rate: Any = None
    volume: Any = None
    bid: Any = None
    ask: Any = None
    trades: deque[float] = field(default_factory=deque)

    def trade_rate(self, now: float, running: float) -> float:
        while self.trades and self.trades[0] < now - _RATE_WINDOW:
            self.trades.popleft()
        return len(self.trades) / max(min(_RATE_WINDOW, running), 1.0)


class _EventLog(logging.Handler):
    """Log records at WARNING and above shown in the view instead of garbling the screen."""

    def __init__(self, view: WatchView) -> None:
        super().__init__(logging.WARNING)
        self._view = view

    def emit(self, record: logging.LogRecord) -> None:
        self._view.note(f"{record.levelname.lower()}: {record.getMessage()}")


class WatchView:
    """What the live view shows; :meth:`update` with every stream item, :meth:`render` a frame."""

    def __init__(
        self,
        codes: Sequence[str],
        *,
        title: str,
        url: str,
        depth: int = 10,
        types: Sequence[str] = ("ticker", "trade", "orderbook"),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.codes = list(dict.fromkeys(codes))
        self.selected = self.codes[0]
        self.title = title
        self.url = url
        self.depth = depth
        self.types = frozenset(types)
        self._clock = clock
        self._wall = wall
        self.started = clock()
        self.rows = {code: _Row() for code in self.codes}
        self.book: Orderbook[Any] | None = None
        self.tape: deque[Trade[Any]] = deque(maxlen=60)
        self.events: deque[str] = deque(maxlen=20)
        self.error: BaseException | None = None
        #: A fault the demo injected and whose Disconnected has not been seen yet.
        self.injected: str | None = None
        self.injected_drops = 0
        self.log_handler: logging.Handler = _EventLog(self)

    # -- state -------------------------------------------------------------------------------

    def running(self) -> float:
        return self._clock() - self.started

    def note(self, text: str) -> None:
        """A line in the event list, stamped with the KST clock time."""
        self.events.append(f"{kst_time(int(self._wall() * 1000))[:8]} {text}")

    def inject(self, kind: str, what: str) -> None:
        """The demo is about to inject ``kind``; the disconnect it causes is attributed to it."""
        self.note(f"demo injects a fault: {what}")
        if kind in ("drop", "close", "half_open", "silence"):
            self.injected = kind

    def update(self, item: Any) -> None:
        row = self.rows.get(getattr(item, "code", ""))
        if isinstance(item, Trade):
            if row is not None:
                row.trades.append(self._clock())
                row.price = item.trade_price
            if item.code == self.selected:
                self.tape.appendleft(item)
        elif isinstance(item, Ticker):
            if row is not None:
                row.price, row.change = item.trade_price, item.change.value
                row.rate, row.volume = item.signed_change_rate, item.acc_trade_volume_24h
        elif isinstance(item, Orderbook):
            if row is not None:
                bids, asks = item.bids, item.asks
                row.bid = bids[0].price if bids else None
                row.ask = asks[0].price if asks else None
            if item.code == self.selected:
                self.book = item
        elif isinstance(item, Disconnected):
            if self.injected is not None:
                self.injected_drops += 1
                self.note(f"disconnected {item.endpoint}: the demo's injected {self.injected}")
                self.injected = None
            else:
                self.note(str(item)[19:])  # the event's own KST time is replaced by ours
        elif isinstance(item, GapDetected | GapUnrecoverable) and item.type != "trade":
            return  # healed by the next snapshot: counted in the panel, too many to list
        elif isinstance(item, Connected | Reconnected | ErrorOccurred):
            self.note(str(item)[19:])  # the event's own KST time is replaced by ours
        elif isinstance(item, Reconnecting | GapDetected | GapFilled | GapUnrecoverable):
            self.note(str(item))

    # -- rendering ---------------------------------------------------------------------------

    def render(self, stats: StatsSnapshot, width: int, height: int) -> RenderableType:
        """One frame for a ``width`` × ``height`` terminal (one line spare for the cursor)."""
        inner = max(width - 4, 20)
        facts = self._facts(stats)
        fact_lines = _pack(facts, inner)
        rows_room = max(height - 1 - 1 - (2 + len(fact_lines)) - 1 - 4, 1)
        codes = self.codes[: max(1, min(len(self.codes), rows_room // 2 + 1))]
        market = self._market_table(codes, width)
        used = 1 + (1 + len(codes)) + (2 + len(fact_lines)) + 1
        room = height - used
        middle_rows = min(max(room - 2, 0), 1 + 2 * self.depth + 1)
        if middle_rows < 4 or not self.types & {"orderbook", "trade"}:
            middle_rows = 0  # not even a level each side (or nothing to show): events get it
        event_room = max(room - middle_rows, 0)
        events = self._event_lines(inner, event_room)
        parts: list[RenderableType] = [self._header(stats, width), market]
        if middle_rows:
            parts.append(self._middle(width, middle_rows - 1))
        body = Text("\n".join(fact_lines + events))
        title = "connection (times KST, UTC+09:00)" if width >= 60 else "connection"
        parts.append(Panel(body, title=title, title_align="left", width=width, padding=(0, 1)))
        return Group(*parts)

    def _header(self, stats: StatsSnapshot, width: int) -> Text:
        clock = kst_time(int(self._wall() * 1000))[:8] + "+09:00"
        left = f"{self.title} · {stats.state}"
        right = f"{clock} KST"
        url = f" · {self.url}"
        if len(left) + len(url) + len(right) + 1 <= width:
            left += url
        pad = max(width - len(left) - len(right), 1)
        return Text(left + " " * pad + right, style="bold")

    def _market_table(self, codes: Sequence[str], width: int) -> Table:
        now, running = self._clock(), self.running()
        rows = [self.rows[c] for c in codes]

        def style(row: _Row) -> str:
            return _RISE if row.change == "RISE" else _FALL if row.change == "FALL" else ""

        spreads = [
            num(r.ask - r.bid) if r.ask is not None and r.bid is not None else "-" for r in rows
        ]
        columns = [
            Column("market", list(codes), 0, "left"),
            Column("price", [num(r.price) for r in rows], 0, styles=[style(r) for r in rows]),
            Column("change", [pct(r.rate) for r in rows], 1, styles=[style(r) for r in rows]),
            Column("best bid", [num(r.bid) for r in rows], 3),
            Column("best ask", [num(r.ask) for r in rows], 3),
            Column("spread", spreads, 5),
            Column("volume 24h", [_short(r.volume) for r in rows], 4),
            Column("trades/s", [f"{r.trade_rate(now, running):.1f}" for r in rows], 2),
        ]
        return fit_table(columns, width)

    def _middle(self, width: int, rows: int) -> RenderableType:
        """The ladder beside the tape; either alone, full width, when the other type is not
        subscribed."""
        parts: list[Callable[[int, int], Table]] = []
        if "orderbook" in self.types:
            parts.append(self._ladder)
        if "trade" in self.types:
            parts.append(self._tape)
        if len(parts) == 1:
            return parts[0](width, rows)
        half = (width - 3) // 2
        grid = Table.grid(padding=(0, 3))
        grid.add_column(width=half, no_wrap=True)
        grid.add_column(width=width - 3 - half, no_wrap=True)
        grid.add_row(self._ladder(half, rows), self._tape(width - 3 - half, rows))
        return grid

    def _ladder(self, width: int, rows: int) -> Table:
        book = self.book
        levels = max(min(self.depth, (rows - 1) // 2), 0)
        asks = list(book.asks[:levels]) if book else []
        bids = list(book.bids[:levels]) if book else []
        prices = [num(u.price) for u in reversed(asks)] + [num(u.price) for u in bids]
        ask_sizes = [num(u.size) for u in reversed(asks)] + [""] * len(bids)
        bid_sizes = [""] * len(asks) + [num(u.size) for u in bids]
        styles = [_FALL] * len(asks) + [_RISE] * len(bids)
        spread = "-"
        if asks and bids:
            spread = num(asks[0].price - bids[0].price)
        columns = [
            Column("ask size", ask_sizes, 1, styles=[_FALL] * len(ask_sizes)),
            Column(f"{self.selected} book", prices, 0, styles=styles),
            Column("bid size", bid_sizes, 1, styles=[_RISE] * len(bid_sizes)),
        ]
        table = fit_table(columns, width, together=[{0, 2}])
        if book is not None:
            table.caption = f"spread {spread}"
            table.caption_justify = "left"
        return table

    def _tape(self, width: int, rows: int) -> Table:
        trades = list(self.tape)[: max(rows - 1, 0)]
        styles = [_RISE if t.ask_bid.value == "BID" else _FALL for t in trades]
        columns = [
            Column("time", [kst_time(t.trade_timestamp)[:8] for t in trades], 2, "left"),
            Column("side", [("buy" if t.ask_bid.value == "BID" else "sell") for t in trades], 3),
            Column("price", [num(t.trade_price) for t in trades], 0, styles=styles),
            Column("volume", [num(t.trade_volume) for t in trades], 1),
        ]
        return fit_table(columns, width)

    def _facts(self, stats: StatsSnapshot) -> list[str]:
        healed = stats.gaps_healed
        lost = stats.gaps_unrecoverable - healed
        facts = [
            f"state {stats.state}",
            f"running {seconds(self.running())}",
            f"up {seconds(stats.uptime)} since the last connect",
            f"reconnects {stats.reconnections:,}"
            + (f" ({self.injected_drops} by the demo's faults)" if self.injected_drops else ""),
            f"messages {stats.messages_received:,}",
        ]
        if stats.decode_errors:
            facts.append(f"malformed frames skipped {stats.decode_errors:,}")
        facts.append(
            f"gaps {stats.gaps_opened:,}: {stats.gaps_filled:,} recovered from REST, "
            f"{healed:,} healed by snapshot, {lost:,} unrecoverable"
        )
        facts.append(f"latency {stats.latency.describe()}")
        if self.error is not None:
            facts.append(f"ended: {type(self.error).__name__}: {self.error}")
        return facts

    def _event_lines(self, width: int, room: int) -> list[str]:
        lines: list[str] = []
        for event in reversed(self.events):
            wrapped = textwrap.wrap(event, width, subsequent_indent="  ") or [""]
            if len(lines) + len(wrapped) > room:
                continue  # too long for what is left: older, shorter events may still fit
            lines[:0] = wrapped
        return lines

    def summary(self, stats: StatsSnapshot, what: str) -> str:
        """The final line(s) printed when the view ends."""
        n = stats.reconnections
        reconnects = f"{n:,} reconnection{'s' if n != 1 else ''}"
        if self.injected_drops:
            reconnects += f" (after {self.injected_drops} fault(s) the demo injected)"
        lost = stats.gaps_unrecoverable - stats.gaps_healed
        return (
            f"{what} finished after {seconds(self.running())}: "
            f"{stats.messages_received:,} messages, {reconnects}, "
            f"{stats.decode_errors:,} malformed frame(s) skipped; gaps: {stats.gaps_filled:,} "
            f"recovered, {stats.gaps_healed:,} healed by snapshot, {lost:,} unrecoverable; "
            f"latency {stats.latency.describe()}"
        )


def _short(value: Decimal | float | None) -> str:
    """A 24 h volume to a few significant digits (it is a magnitude, not a price)."""
    if value is None:
        return "-"
    v = float(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"{v / size:,.2f}{unit}"
    return f"{v:,.3f}"


def _pack(facts: Sequence[str], width: int) -> list[str]:
    """Facts joined with `` · `` into as few lines of ``width`` as fit; a fact longer than a
    line wraps at spaces (never inside a number)."""
    lines: list[str] = []
    current = ""
    for fact in facts:
        joined = f"{current} · {fact}" if current else fact
        if len(joined) <= width:
            current = joined
            continue
        if current:
            lines.append(current)
        wrapped = textwrap.wrap(fact, width, subsequent_indent="  ", break_long_words=False)
        lines.extend(wrapped[:-1])
        current = wrapped[-1] if wrapped else ""
    if current:
        lines.append(current)
    return lines
