"""The trade deduper: bounded memory per code, no reliance on sequential_id order (§11.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.dedupe import DEFAULT_WINDOW, TradeDeduper


def test_first_sight_is_new_and_recorded_then_a_duplicate() -> None:
    dedupe = TradeDeduper()
    assert dedupe.seen("KRW-BTC", 17303368620470000) is False
    assert dedupe.seen("KRW-BTC", 17303368620470000) is True
    assert ("KRW-BTC", 17303368620470000) in dedupe


def test_codes_are_separate() -> None:
    dedupe = TradeDeduper()
    assert not dedupe.seen("KRW-BTC", 1)
    assert not dedupe.seen("KRW-ETH", 1)
    assert dedupe.seen("KRW-ETH", 1)


def test_membership_check_records_nothing() -> None:
    dedupe = TradeDeduper()
    assert ("KRW-BTC", 5) not in dedupe
    assert not dedupe.seen("KRW-BTC", 5)


def test_unordered_ids_are_deduplicated() -> None:
    dedupe = TradeDeduper()
    ids = [17303368620800006, 17303368620470000, 17303368620800001, 17303368620470003]
    assert [dedupe.seen("KRW-BTC", i) for i in ids] == [False] * 4
    assert [dedupe.seen("KRW-BTC", i) for i in reversed(ids)] == [True] * 4


def test_memory_is_bounded_per_code_and_the_oldest_generation_is_forgotten() -> None:
    dedupe = TradeDeduper(window=4)  # generations of 2
    for sid in (30, 10, 20, 40, 50):  # not in id order
        assert not dedupe.seen("KRW-BTC", sid)
    assert dedupe.size("KRW-BTC") <= 4
    assert ("KRW-BTC", 30) not in dedupe  # the oldest generation left
    assert ("KRW-BTC", 10) not in dedupe
    for sid in (20, 40, 50):  # at least window / 2 of the newest are remembered
        assert dedupe.seen("KRW-BTC", sid)


def test_a_duplicate_does_not_grow_the_window() -> None:
    dedupe = TradeDeduper(window=4)
    dedupe.seen("c", 1)
    dedupe.seen("c", 2)
    for _ in range(10):
        assert dedupe.seen("c", 1)
    assert dedupe.size("c") == 2
    dedupe.seen("c", 3)  # a new generation: 1 and 2 are still remembered
    assert ("c", 1) in dedupe
    assert ("c", 2) in dedupe


def test_snapshot_replay_and_stale_frames_after_a_long_run_are_caught() -> None:
    """The replays happen at the live edge: the last few ids, well inside the window."""
    dedupe = TradeDeduper()
    base = 17303368620000000
    ids = [base + (i * 7919) % 100_000 for i in range(50_000)]  # unordered, unique
    assert len(set(ids)) == len(ids)
    for sid in ids:
        assert not dedupe.seen("KRW-BTC", sid)
    assert DEFAULT_WINDOW // 2 <= dedupe.size("KRW-BTC") <= DEFAULT_WINDOW
    # snapshot replays the newest; 0-2 stale frames; a REST page overlapping the last 500
    for sid in [ids[-1], ids[-2], ids[-3], *ids[-500:]]:
        assert dedupe.seen("KRW-BTC", sid)


def test_forget_drops_a_code() -> None:
    dedupe = TradeDeduper()
    dedupe.seen("c", 1)
    dedupe.forget("c")
    assert dedupe.size("c") == 0
    assert not dedupe.seen("c", 1)


@pytest.mark.parametrize("window", [0, 1, -1, True, 1.5])
def test_window_must_be_a_positive_int(window: object) -> None:
    with pytest.raises(ConfigurationError):
        TradeDeduper(window)  # type: ignore[arg-type]


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=300), st.integers(2, 20))
def test_property_never_a_false_duplicate_and_recent_repeats_caught(
    stream: list[int], window: int
) -> None:
    dedupe = TradeDeduper(window)
    recorded: list[int] = []  # ids in recording order (an id forgotten may come again)
    for sid in stream:
        dup = dedupe.seen("c", sid)
        if sid not in recorded:
            assert not dup  # never seen: never a duplicate
        if sid in recorded[-(window // 2) :]:
            assert dup  # among the last window / 2 recorded: always caught
        if not dup:
            recorded.append(sid)
        assert dedupe.size("c") <= window
