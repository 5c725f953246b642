"""The trade backfill planner (nothing lost across a gap): which REST pages to fetch, when a
gap is closed.

Sans-I/O: the caller performs each :class:`PageRequest` against
``GET /v1/trades/ticks?market=&count=&cursor=&days_ago=`` and feeds the rows back with
:meth:`BackfillPlanner.add_page`; the planner never touches the network or a clock.

How a gap of one code is closed:

* **Bounds.** The gap starts at ``since``: the ``trade_timestamp`` of the last trade
  delivered before it (``anchor`` is that trade's ``sequential_id``). It ends at the first
  trade received live afterwards (``first_live``), or "now" when none arrived yet.
* **Paging.** REST lists trades newest first, 500 at most per page. The first page starts
  at ``first_live`` (``cursor`` = its id) or at the newest trade; every next page starts at
  the last row of the previous one, in list order. ``sequential_id`` is only an identity,
  never an order (protocol §11.2), so the cursor is the last row *as listed*, not the
  smallest id, and the stop test uses timestamps: paging ends at the first row older than
  ``since - slack_ms``. ``slack_ms`` re-reads a little before the gap so a trade delivered
  out of timestamp order cannot slip through; the deduper drops what was delivered.
* **History ends.** An empty page means REST has nothing older. If the anchor trade was
  among the rows, everything after it has been read: the gap is closed. Otherwise, if the
  gap starts on an earlier UTC day than the oldest row read, the next page asks for that
  day (``days_ago`` + 1, REST serves one UTC day at a time, at most 7 back); else REST
  cannot reach the gap's start.
* **Limits.** After ``max_pages`` pages without reaching ``since`` the gap is
  unrecoverable ("REST cannot reach back far enough"); a page that brings no new row (a
  cursor that does not advance) ends it too.
* **Result.** :func:`merge_recovered` merges the pages (of one or more rounds), keeps rows
  at or after ``since - slack_ms``, drops what is delivered already (the deduper) or will
  be delivered live, and sorts the rest by ``(trade_timestamp, sequential_id)``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar

from upbitws.exceptions import ConfigurationError

if TYPE_CHECKING:
    from upbitws.protocol.dedupe import TradeDeduper

__all__ = [
    "DAY_MS",
    "MAX_DAYS_AGO",
    "PAGE_SIZE",
    "BackfillPlanner",
    "PageRequest",
    "TradeLike",
    "TradeMark",
    "merge_recovered",
]

#: ``count`` of every page: the most REST returns at once.
PAGE_SIZE: Final = 500
#: ``days_ago`` reaches at most this many UTC days back.
MAX_DAYS_AGO: Final = 7
DAY_MS: Final = 86_400_000


class TradeLike(Protocol):
    """What the planner reads of a trade (``Trade`` and ``RecoveredTrade`` qualify)."""

    @property
    def sequential_id(self) -> int: ...

    @property
    def trade_timestamp(self) -> int: ...


T = TypeVar("T", bound=TradeLike)


@dataclass(frozen=True, slots=True)
class TradeMark:
    """A trade's identity and time: a gap bound."""

    sequential_id: int
    trade_timestamp: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One ``GET /v1/trades/ticks`` call."""

    market: str
    count: int = PAGE_SIZE
    cursor: int | None = None
    days_ago: int | None = None

    def params(self) -> dict[str, str]:
        """Query parameters, omitting those not set."""
        out = {"market": self.market, "count": str(self.count)}
        if self.cursor is not None:
            out["cursor"] = str(self.cursor)
        if self.days_ago is not None:
            out["days_ago"] = str(self.days_ago)
        return out


class BackfillPlanner(Generic[T]):
    """Plans the REST pages that close one code's trade gap (see the module docstring)."""

    def __init__(
        self,
        code: str,
        since: int,
        *,
        anchor: int | None = None,
        first_live: TradeMark | None = None,
        max_pages: int = 20,
        page_size: int = PAGE_SIZE,
        slack_ms: int = 0,
    ) -> None:
        if max_pages < 1:
            raise ConfigurationError("max_pages must be at least 1")
        if not 1 <= page_size <= PAGE_SIZE:
            raise ConfigurationError(f"page_size must be within 1..{PAGE_SIZE}")
        if slack_ms < 0:
            raise ConfigurationError("slack_ms must be >= 0")
        self.code = code
        self.since = since
        self.anchor = anchor
        self.first_live = first_live
        self.max_pages = max_pages
        self.page_size = page_size
        self.floor = since - slack_ms  # rows older than this end the paging
        self.pages = 0
        self.done = False
        self.complete = False
        self.reason: str | None = None
        #: The newest trade time the pages cover: ``first_live``'s, or the first page's newest.
        self.top: int | None = first_live.trade_timestamp if first_live else None
        self._cursor = first_live.sequential_id if first_live else None
        self._days_ago: int | None = None
        self._oldest: int | None = None
        # Paging from the anchor itself (a quiet market: the snapshot replays the last
        # delivered trade) starts with it found.
        self._anchor_found = first_live is not None and first_live.sequential_id == anchor
        self._fetched: set[int] = set()
        self._rows: dict[int, T] = {}

    def next_request(self) -> PageRequest | None:
        """The next page to fetch, or ``None`` once :attr:`done`."""
        if self.done:
            return None
        return PageRequest(self.code, self.page_size, self._cursor, self._days_ago)

    def add_page(self, rows: Sequence[T]) -> None:
        """Feed the rows of the page :meth:`next_request` asked for, in the order listed."""
        if self.done:
            raise RuntimeError("the backfill is already done")
        self.pages += 1
        if not rows:
            self._history_ended()
            return
        fetched = self._fetched
        new = 0
        reached = False
        floor = self.floor
        keep = self._rows
        for row in rows:
            sid = row.sequential_id
            if sid in fetched:
                continue
            fetched.add(sid)
            new += 1
            ts = row.trade_timestamp
            if self._oldest is None or ts < self._oldest:
                self._oldest = ts
            if ts < floor:
                reached = True
            else:
                keep[sid] = row
            if sid == self.anchor:
                self._anchor_found = True
        if self.top is None:
            self.top = max(row.trade_timestamp for row in rows)
        if reached:
            self._finish(None)
        elif new == 0:
            self._finish("REST paging did not advance (the cursor returned known rows only)")
        elif self.pages >= self.max_pages:
            self._finish(
                f"REST cannot reach back far enough: {self.pages} pages of {self.page_size} "
                "trades did not reach the gap's start"
            )
        else:
            self._cursor = rows[-1].sequential_id  # list order, never the smallest id

    def _history_ended(self) -> None:
        if self._anchor_found:
            self._finish(None)  # every row after the last delivered trade has been read
            return
        days = self._days_ago or 0
        oldest_day = None if self._oldest is None else self._oldest // DAY_MS
        if (
            oldest_day is not None
            and self.since // DAY_MS < oldest_day
            and days < MAX_DAYS_AGO
            and self.pages < self.max_pages
        ):
            self._days_ago = days + 1  # the UTC day before the one just exhausted
            self._cursor = None
            return
        self._finish("REST cannot reach back far enough: its history ends after the gap's start")

    def _finish(self, reason: str | None) -> None:
        self.done = True
        self.complete = reason is None
        self.reason = reason

    @property
    def rows(self) -> list[T]:
        """The rows read so far at or after ``since - slack_ms``, in no particular order."""
        return list(self._rows.values())

    def recovered(
        self, deduper: TradeDeduper, *, live: Container[int] = frozenset()
    ) -> tuple[list[T], int]:
        """:func:`merge_recovered` of this planner alone."""
        return merge_recovered(self.code, [self], deduper, live=live)


def merge_recovered(
    code: str,
    planners: Iterable[BackfillPlanner[T]],
    deduper: TradeDeduper,
    *,
    live: Container[int] = frozenset(),
) -> tuple[list[T], int]:
    """The missing trades read by ``planners`` (successive rounds of one gap), ordered by
    ``(trade_timestamp, sequential_id)``, and how many rows from the gap's start on
    duplicated delivered trades (the ``slack_ms`` re-read is expected to, and not counted).

    Rows whose id is in ``live`` (trades received live, delivered after these) are left out;
    the others are recorded in ``deduper``, so a later live copy is suppressed.
    """
    merged: dict[int, T] = {}
    planners = list(planners)
    start = min((p.since for p in planners), default=0)
    for planner in planners:
        for row in planner.rows:
            merged.setdefault(row.sequential_id, row)
    out: list[T] = []
    duplicates = 0
    for row in sorted(merged.values(), key=lambda r: (r.trade_timestamp, r.sequential_id)):
        sid = row.sequential_id
        if sid in live:
            continue
        if deduper.seen(code, sid):
            duplicates += row.trade_timestamp >= start
            continue
        out.append(row)
    return out, duplicates
