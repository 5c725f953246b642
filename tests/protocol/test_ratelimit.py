"""Sliding-window limiter on a fake clock (protocol §7: 5/s + 100/min per connection)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.ratelimit import CONNECT_WINDOWS, MESSAGE_WINDOWS, SlidingWindowLimiter


def send_when_allowed(limiter: SlidingWindowLimiter, now: float) -> float:
    """Wait as told, then record; returns the send time."""
    now += limiter.delay(now)
    assert limiter.delay(now) == 0.0
    limiter.record(now)
    return now


def test_five_immediate_then_the_sixth_waits_one_second_after_the_first() -> None:
    limiter = SlidingWindowLimiter(CONNECT_WINDOWS, margin=0.0)
    for _ in range(5):
        assert limiter.delay(10.0) == 0.0
        limiter.record(10.0)
    assert limiter.delay(10.0) == pytest.approx(1.0)
    assert limiter.delay(10.4) == pytest.approx(0.6)
    assert limiter.delay(11.0) == 0.0


def test_margin_widens_the_window() -> None:
    limiter = SlidingWindowLimiter(CONNECT_WINDOWS)  # margin 0.05 by default
    for t in (0.0, 0.1, 0.2, 0.3, 0.4):
        limiter.record(t)
    assert limiter.delay(0.5) == pytest.approx(0.55)
    assert send_when_allowed(limiter, 0.5) == pytest.approx(1.05)
    # the next one waits for the second event (0.1) to leave its widened window
    assert limiter.delay(1.05) == pytest.approx(0.1)


def test_spread_events_are_not_delayed() -> None:
    limiter = SlidingWindowLimiter(MESSAGE_WINDOWS)
    for i in range(50):
        now = i * 0.7
        assert limiter.delay(now) == 0.0
        limiter.record(now)


def test_hundred_per_minute_window() -> None:
    limiter = SlidingWindowLimiter(MESSAGE_WINDOWS, margin=0.0)
    now = 0.0
    sent = []
    for _ in range(101):
        now = send_when_allowed(limiter, now)
        sent.append(now)
    # 5/s for the first 100 (20 s), then the 101st waits for the first to be 60 s old
    assert sent[99] == pytest.approx(19.0)
    assert sent[100] == pytest.approx(60.0)


def test_memory_is_bounded_by_the_largest_count() -> None:
    limiter = SlidingWindowLimiter(MESSAGE_WINDOWS)
    for i in range(10_000):
        limiter.record(i * 10.0)
    assert len(limiter._events) == 100


def test_clear_restores_the_budget() -> None:
    limiter = SlidingWindowLimiter(CONNECT_WINDOWS)
    for _ in range(5):
        limiter.record(0.0)
    assert limiter.delay(0.0) > 0
    limiter.clear()
    assert limiter.delay(0.0) == 0.0


def test_windows_property() -> None:
    assert SlidingWindowLimiter([(5, 1)]).windows == ((5, 1.0),)


@pytest.mark.parametrize(
    ("windows", "margin"),
    [
        ([], 0.05),
        ([(0, 1.0)], 0.05),
        ([(5, 0.0)], 0.05),
        ([(5, float("inf"))], 0.05),
        ([(True, 1.0)], 0.05),
        ([(5, 1.0)], -0.1),
        ([(5, 1.0)], float("nan")),
    ],
)
def test_validation(windows: list[tuple[int, float]], margin: float) -> None:
    with pytest.raises(ConfigurationError):
        SlidingWindowLimiter(windows, margin=margin)


def count_in(times: list[float], start: float, end: float) -> int:
    """Events in the half-open interval (start, end]."""
    return sum(1 for t in times if start < t <= end)


windows_st = st.lists(
    st.tuples(st.integers(1, 8), st.floats(0.05, 5.0)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    windows=windows_st,
    margin=st.sampled_from([0.0, 0.05]),
    gaps=st.lists(st.floats(0.0, 2.0), max_size=80),
)
def test_never_exceeds_any_window(
    windows: list[tuple[int, float]], margin: float, gaps: list[float]
) -> None:
    limiter = SlidingWindowLimiter(windows, margin=margin)
    now = 0.0
    sent: list[float] = []
    for gap in gaps:
        now = send_when_allowed(limiter, now + gap)
        sent.append(now)
    for count, period in windows:
        for t in sent:
            # at most `count` events in any window of `period` (+ margin) ending at an event
            assert count_in(sent, t - period - margin + 1e-9, t) <= count


@settings(max_examples=200, deadline=None)
@given(windows=windows_st, gaps=st.lists(st.floats(0.0, 2.0), max_size=60))
def test_delay_is_never_longer_than_needed(
    windows: list[tuple[int, float]], gaps: list[float]
) -> None:
    limiter = SlidingWindowLimiter(windows, margin=0.0)
    now = 0.0
    sent: list[float] = []
    for gap in gaps:
        now += gap
        wait = limiter.delay(now)
        if wait > 1e-6:
            # just before the allowed time, one window would still be full
            early = now + wait - 1e-6
            assert any(count_in(sent, early - period, early) >= count for count, period in windows)
        now = send_when_allowed(limiter, now)
        sent.append(now)
