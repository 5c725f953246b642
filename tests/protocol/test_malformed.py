"""SkipReporter: how loudly skipped frames are reported, on fake time (no event loop)."""

from __future__ import annotations

import pytest

from upbitws.protocol.malformed import LogDecision, SkipReporter


def test_the_first_frames_are_logged_then_counted_then_summed_up_per_window() -> None:
    reporter = SkipReporter(first=5, every=60.0)
    decisions = [reporter.skipped(100.0 + i * 0.001) for i in range(60_000)]
    assert [d.detail for d in decisions[:6]] == [True] * 5 + [False]
    assert [d.quiet for d in decisions[:7]] == [False] * 5 + [True, False]
    assert sum(d.detail or d.quiet or d.summary > 0 for d in decisions) == 6
    # the window ended 60 s after its first frame: the next one brings the summary
    after = reporter.skipped(160.0)
    assert after == LogDecision(summary=60_000 - 5, window=60.0, detail=True, quiet=False)


def test_a_window_with_nothing_suppressed_has_no_summary() -> None:
    reporter = SkipReporter(first=5, every=60.0)
    for t in (0.0, 1.0, 2.0):
        assert reporter.skipped(t).detail
    assert reporter.skipped(100.0) == LogDecision(0, 0.0, True, False)


def test_gaps_are_announced_once_per_key_and_window() -> None:
    reporter = SkipReporter(every=60.0)
    key = ("ticker", "KRW-BTC")
    assert reporter.announce(key, 0.0)
    assert not reporter.announce(key, 59.9)
    assert reporter.announce(("ticker", "KRW-ETH"), 59.9)
    assert reporter.announce(key, 60.0)


def test_old_announcements_are_forgotten() -> None:
    reporter = SkipReporter(every=10.0)
    for i in range(100):
        reporter.announce(("ticker", f"KRW-X{i}"), 0.0)
    reporter.skipped(0.0)
    reporter.skipped(20.0)  # a new window prunes what is older than one
    assert reporter._announced == {}


@pytest.mark.parametrize("kwargs", [{"first": -1}, {"every": 0.0}])
def test_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SkipReporter(**kwargs)  # type: ignore[arg-type]
