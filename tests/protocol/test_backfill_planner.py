"""The trade backfill planner against a fake REST history: no network, no clock.

``sequential_id`` is deliberately not in time order here (protocol §11.2): the planner must
page by the rows as listed and stop by ``trade_timestamp``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.backfill import (
    DAY_MS,
    PAGE_SIZE,
    BackfillPlanner,
    PageRequest,
    TradeMark,
    merge_recovered,
)
from upbitws.protocol.dedupe import TradeDeduper


@dataclass(frozen=True)
class Row:
    sequential_id: int
    trade_timestamp: int


def history(n: int, *, start: int = 1_700_000_000_000, seed: int = 1) -> list[Row]:
    """``n`` trades, oldest first, a few per millisecond, with shuffled ids."""
    rng = random.Random(seed)
    ids = rng.sample(range(10**15, 10**15 + 10 * n), n)  # unique, unordered
    rows, ts = [], start
    for sid in ids:
        ts += rng.choice((0, 0, 1, 3))
        rows.append(Row(sid, ts))
    return rows


class FakeRest:
    """``/v1/trades/ticks``: newest first; ``cursor`` = an id, rows listed after it."""

    def __init__(self, rows: list[Row], *, by_day: bool = False) -> None:
        self.listing = list(reversed(rows))
        self.by_day = by_day
        self.requests: list[PageRequest] = []

    def get(self, req: PageRequest) -> list[Row]:
        self.requests.append(req)
        listing = self.listing
        if self.by_day:
            newest_day = listing[0].trade_timestamp // DAY_MS
            day = newest_day - (req.days_ago or 0)
            listing = [r for r in listing if r.trade_timestamp // DAY_MS == day]
        start = 0
        if req.cursor is not None:
            ids = [r.sequential_id for r in listing]
            start = ids.index(req.cursor) + 1 if req.cursor in ids else len(ids)
        return listing[start : start + req.count]


def run(planner: BackfillPlanner[Row], rest: FakeRest) -> None:
    while (req := planner.next_request()) is not None:
        planner.add_page(rest.get(req))


def deduper_with(code: str, rows: list[Row]) -> TradeDeduper:
    dedupe = TradeDeduper()
    for row in rows:
        dedupe.seen(code, row.sequential_id)
    return dedupe


def test_recovers_exactly_the_missing_trades_in_time_order() -> None:
    rows = history(2_000)
    delivered, missing, live = rows[:700], rows[700:1_900], rows[1_900:]
    last = delivered[-1]
    planner = BackfillPlanner[Row](
        "KRW-BTC",
        last.trade_timestamp,
        anchor=last.sequential_id,
        first_live=TradeMark(live[0].sequential_id, live[0].trade_timestamp),
    )
    rest = FakeRest(rows)
    run(planner, rest)
    assert planner.complete
    assert planner.reason is None
    assert rest.requests[0] == PageRequest("KRW-BTC", PAGE_SIZE, live[0].sequential_id)
    assert planner.pages == 3  # 1200 missing rows + the row below the gap
    out, dups = planner.recovered(deduper_with("KRW-BTC", delivered))
    assert out == sorted(missing, key=lambda r: (r.trade_timestamp, r.sequential_id))
    assert dups >= 1  # rows at the last delivered millisecond were already delivered
    assert planner.top == live[0].trade_timestamp


def test_each_next_cursor_is_the_last_row_as_listed_not_the_smallest_id() -> None:
    rows = history(1_200)
    planner = BackfillPlanner[Row]("c", rows[0].trade_timestamp - 1, page_size=100)
    rest = FakeRest(rows)
    run(planner, rest)
    for req, prev in zip(rest.requests[1:], rest.requests, strict=False):
        page = rest.get(prev)
        assert req.cursor == page[-1].sequential_id
        assert req.cursor != min(r.sequential_id for r in page) or len(page) == 1


def test_paging_from_now_when_no_live_trade_yet() -> None:
    rows = history(800)
    last = rows[99]
    planner = BackfillPlanner[Row]("c", last.trade_timestamp, anchor=last.sequential_id)
    rest = FakeRest(rows)
    run(planner, rest)
    assert rest.requests[0].cursor is None
    assert planner.complete
    assert planner.top == rows[-1].trade_timestamp
    out, _ = planner.recovered(deduper_with("c", rows[:100]))
    assert {r.sequential_id for r in out} == {r.sequential_id for r in rows[100:]}


def test_live_trades_are_left_for_the_live_queue() -> None:
    rows = history(600)
    last = rows[199]
    planner = BackfillPlanner[Row]("c", last.trade_timestamp, anchor=last.sequential_id)
    run(planner, FakeRest(rows))
    held = {r.sequential_id for r in rows[550:]}  # received live meanwhile
    out, _ = planner.recovered(deduper_with("c", rows[:200]), live=held)
    assert [r.sequential_id for r in out] == [
        r.sequential_id
        for r in sorted(rows[200:550], key=lambda r: (r.trade_timestamp, r.sequential_id))
    ]


def test_overlapping_pages_are_merged_once() -> None:
    rows = history(1_000)

    class Overlapping(FakeRest):
        def get(self, req: PageRequest) -> list[Row]:
            page = super().get(req)
            if req.cursor is None:
                return page
            # the server repeats the 50 rows before the cursor as well
            ids = [r.sequential_id for r in self.listing]
            i = ids.index(req.cursor)
            return self.listing[max(i - 49, 0) : i + 1] + page

    last = rows[100]
    planner = BackfillPlanner[Row]("c", last.trade_timestamp, anchor=last.sequential_id)
    run(planner, Overlapping(rows))
    assert planner.complete
    out, _ = planner.recovered(deduper_with("c", rows[:101]))
    ids = [r.sequential_id for r in out]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r.sequential_id for r in rows[101:]}


def test_empty_history_after_the_anchor_closes_the_gap() -> None:
    """A young market: the gap starts at its very first trade; nothing older exists."""
    rows = history(300)
    first = rows[0]
    planner = BackfillPlanner[Row]("c", first.trade_timestamp, anchor=first.sequential_id)
    run(planner, FakeRest(rows))
    assert planner.complete
    out, dups = planner.recovered(deduper_with("c", rows[:1]))
    assert len(out) == 299
    assert dups == 1


def test_quiet_market_snapshot_replays_the_anchor() -> None:
    rows = history(10)
    last = rows[-1]
    mark = TradeMark(last.sequential_id, last.trade_timestamp)
    planner = BackfillPlanner[Row](
        "c", last.trade_timestamp, anchor=last.sequential_id, first_live=mark
    )
    rest = FakeRest(rows)
    run(planner, rest)
    assert planner.complete
    assert len(rest.requests) == 1
    out, _ = planner.recovered(deduper_with("c", rows), live={last.sequential_id})
    assert out == []


def test_empty_first_page_without_the_anchor_is_unrecoverable() -> None:
    planner = BackfillPlanner[Row]("c", 1_700_000_000_000, anchor=42)
    planner.add_page([])
    assert planner.done
    assert not planner.complete
    assert planner.reason is not None
    assert "cannot reach back" in planner.reason
    assert planner.next_request() is None


def test_max_pages_limit_makes_the_gap_unrecoverable() -> None:
    rows = history(5_000)
    last = rows[10]
    planner = BackfillPlanner[Row](
        "c", last.trade_timestamp, anchor=last.sequential_id, max_pages=3, page_size=200
    )
    rest = FakeRest(rows)
    run(planner, rest)
    assert planner.done
    assert not planner.complete
    assert planner.reason is not None
    assert "REST cannot reach back far enough" in planner.reason
    assert len(rest.requests) == 3
    out, _ = planner.recovered(TradeDeduper())
    assert len(out) == 600  # what was read is still usable, ordered
    assert out == sorted(out, key=lambda r: (r.trade_timestamp, r.sequential_id))
    with pytest.raises(RuntimeError):
        planner.add_page([])


def test_a_cursor_that_does_not_advance_ends_the_backfill() -> None:
    rows = history(600)

    class Stuck(FakeRest):
        def get(self, req: PageRequest) -> list[Row]:
            return self.listing[:100]

    planner = BackfillPlanner[Row]("c", rows[0].trade_timestamp, anchor=rows[0].sequential_id)
    run(planner, Stuck(rows))
    assert not planner.complete
    assert planner.reason is not None
    assert "did not advance" in planner.reason
    assert planner.pages == 2


def test_slack_rereads_before_the_gap_and_catches_an_out_of_order_delivery() -> None:
    rows = history(400)
    delivered = rows[:200]
    lost_early = rows[195]  # delivered out of order: never arrived before the drop
    delivered = [r for r in delivered if r is not lost_early]
    last = rows[199]
    planner = BackfillPlanner[Row](
        "c", last.trade_timestamp, anchor=last.sequential_id, slack_ms=1_000
    )
    run(planner, FakeRest(rows))
    out, dups = planner.recovered(deduper_with("c", delivered))
    assert lost_early in out
    assert set(out) == {lost_early, *rows[200:]}
    # the re-read before the gap is expected to repeat delivered trades: not counted
    at_or_after = [r for r in delivered if r.trade_timestamp >= last.trade_timestamp]
    assert dups == len(at_or_after)


def test_gap_across_utc_midnight_asks_for_the_previous_day() -> None:
    midnight = 1_700_006_400_000  # a UTC day boundary
    assert midnight % DAY_MS == 0
    rows = history(300, start=midnight - 150)  # straddles the boundary
    last = next(r for r in rows if r.trade_timestamp >= midnight - 100)
    i = rows.index(last)
    planner = BackfillPlanner[Row]("c", last.trade_timestamp, anchor=last.sequential_id)
    rest = FakeRest(rows, by_day=True)
    run(planner, rest)
    assert planner.complete
    assert [r.days_ago for r in rest.requests][-1] == 1
    out, _ = planner.recovered(deduper_with("c", rows[: i + 1]))
    assert {r.sequential_id for r in out} == {r.sequential_id for r in rows[i + 1 :]}


def test_request_params() -> None:
    assert PageRequest("KRW-BTC").params() == {"market": "KRW-BTC", "count": "500"}
    assert PageRequest("KRW-BTC", 10, 17303368620470000, 2).params() == {
        "market": "KRW-BTC",
        "count": "10",
        "cursor": "17303368620470000",
        "days_ago": "2",
    }


@pytest.mark.parametrize(
    "kwargs", [{"max_pages": 0}, {"page_size": 0}, {"page_size": 501}, {"slack_ms": -1}]
)
def test_invalid_settings(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        BackfillPlanner[Row]("c", 0, **kwargs)  # type: ignore[arg-type]


@given(
    n=st.integers(1, 1_500),
    cut=st.floats(0.0, 1.0),
    live_from=st.floats(0.0, 1.0),
    page_size=st.sampled_from([1, 7, 100, 500]),
    seed=st.integers(0, 1_000),
    use_cursor=st.booleans(),
)
def test_property_recovered_is_exactly_the_gap(
    n: int, cut: float, live_from: float, page_size: int, seed: int, use_cursor: bool
) -> None:
    rows = history(n, seed=seed)
    k = int(cut * (n - 1))  # index of the last delivered trade
    j = k + 1 + int(live_from * (n - k - 1))  # first live trade (may be == n: none yet)
    last = rows[k]
    first_live = (
        TradeMark(rows[j].sequential_id, rows[j].trade_timestamp) if use_cursor and j < n else None
    )
    planner = BackfillPlanner[Row](
        "c",
        last.trade_timestamp,
        anchor=last.sequential_id,
        first_live=first_live,
        page_size=page_size,
        max_pages=10_000,
    )
    run(planner, FakeRest(rows))
    assert planner.complete, planner.reason
    held = {r.sequential_id for r in rows[j:]}
    out, _ = planner.recovered(deduper_with("c", rows[: k + 1]), live=held)
    assert out == sorted(rows[k + 1 : j], key=lambda r: (r.trade_timestamp, r.sequential_id))


def test_rounds_merge_into_one_ordered_tape() -> None:
    """A second round (the live tail was lost meanwhile) re-reads from the first's top."""
    rows = history(1_000)
    last, first_live, later_live = rows[99], rows[500], rows[800]
    one = BackfillPlanner[Row](
        "c",
        last.trade_timestamp,
        anchor=last.sequential_id,
        first_live=TradeMark(first_live.sequential_id, first_live.trade_timestamp),
    )
    run(one, FakeRest(rows))
    assert one.top == first_live.trade_timestamp
    two = BackfillPlanner[Row](
        "c",
        one.top,
        first_live=TradeMark(later_live.sequential_id, later_live.trade_timestamp),
        slack_ms=5,
    )
    run(two, FakeRest(rows))
    assert one.complete
    assert two.complete
    out, _ = merge_recovered(
        "c", [one, two], deduper_with("c", rows[:100]), live={r.sequential_id for r in rows[800:]}
    )
    assert out == sorted(rows[100:800], key=lambda r: (r.trade_timestamp, r.sequential_id))
