"""Backoff counts failures, not drops; Retry-After jitter and cap; never-silent warnings.

All on fake time (``now`` is an input) with a scripted rng: exact values, no event loop.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.backoff import RETRY_AFTER_JITTER, Backoff, BackoffPolicy


def const(value: float) -> Callable[[], float]:
    return lambda: value


def seq(values: Iterable[float]) -> Callable[[], float]:
    it = iter(values)
    return lambda: next(it)


POLICY = BackoffPolicy(initial=0.5, maximum=30.0, stable_after=30.0, productive_after=5.0)


def test_a_connection_that_delivered_data_for_productive_after_resets_the_count() -> None:
    backoff = Backoff(POLICY, const(1.0))
    now = 0.0
    # A flapping path: each connection delivers data for 6 s, then the path fails.
    delays = []
    for _ in range(10):
        backoff.connected(now)
        assert backoff.disconnected(now + 9.0, last_data=now + 6.0)
        delays.append(backoff.failed(now + 9.0).delay)
        now += 10.0
    assert delays == [0.5] * 10  # the first reconnect after each drop is fast


def test_data_for_less_than_productive_after_does_not_reset() -> None:
    backoff = Backoff(POLICY, const(1.0))
    backoff.connected(0.0)
    assert not backoff.disconnected(8.0, last_data=4.999)  # data stopped before 5 s
    assert backoff.failed(8.0).delay == 0.5
    backoff.connected(10.0)
    assert not backoff.disconnected(12.0, last_data=11.0)
    assert backoff.failed(12.0).delay == 1.0  # grows: attempt 2


def test_accept_then_close_and_accept_then_silence_keep_growing() -> None:
    backoff = Backoff(POLICY, const(1.0))
    delays = []
    now = 0.0
    for i in range(8):
        backoff.connected(now)
        # even: closes at once; odd: accepts, sends nothing for 20 s, then drops
        end = now + (0.01 if i % 2 == 0 else 20.0)
        assert not backoff.disconnected(end, last_data=None)
        delays.append(backoff.failed(end).delay)
        now = end + delays[-1]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_stable_after_still_resets_a_quiet_connection() -> None:
    backoff = Backoff(POLICY, const(1.0))
    backoff.failed(0.0)
    backoff.failed(1.0)
    backoff.connected(2.0)
    assert backoff.disconnected(32.0, last_data=None)  # 30 s up, no data (a quiet market)
    assert backoff.attempt == 0


def test_disconnected_without_connected_resets_nothing() -> None:
    backoff = Backoff(POLICY, const(1.0))
    backoff.failed(0.0)
    assert not backoff.disconnected(100.0, last_data=99.0)
    assert backoff.attempt == 1


def test_retry_after_gets_jitter_on_top() -> None:
    base, share = RETRY_AFTER_JITTER
    # rng: first draw for the backoff jitter, second for the Retry-After jitter
    backoff = Backoff(POLICY, seq([0.0, 0.0, 0.0, 0.5, 0.0, 1.0]))
    assert backoff.failed(0.0, retry_after=1.0).delay == 1.0
    assert backoff.failed(1.0, retry_after=1.0).delay == pytest.approx(1.0 + 0.5 * (base + share))
    assert backoff.failed(2.0, retry_after=10.0).delay == pytest.approx(10.0 + base + share * 10)


def test_many_streams_refused_together_do_not_return_in_lockstep() -> None:
    import random

    rng = random.Random(7)
    delays = [Backoff(POLICY, rng.random).failed(0.0, retry_after=1.0).delay for _ in range(114)]
    assert len({round(d, 3) for d in delays}) > 100  # not 114 x 1.000 s
    assert min(delays) >= 1.0
    assert max(delays) - min(delays) > 0.8  # spread over ~1.1 s


def test_retry_after_above_the_cap_is_capped_and_flagged() -> None:
    backoff = Backoff(BackoffPolicy(retry_after_cap=600.0), const(0.0))
    retry = backoff.failed(0.0, retry_after=1_000_000_000.0)
    assert retry.capped
    assert retry.asked == 1_000_000_000.0
    assert retry.delay == 600.0
    assert retry.warn
    below = backoff.failed(1.0, retry_after=599.0)
    assert not below.capped
    assert below.delay == 599.0


def test_warn_on_the_first_failure_of_a_run_and_at_the_cap_without_flooding() -> None:
    policy = BackoffPolicy(initial=1.0, maximum=8.0, productive_after=5.0)
    backoff = Backoff(policy, const(1.0))
    now = 0.0
    log: list[tuple[int, bool, bool]] = []
    for _ in range(12):
        retry = backoff.failed(now)
        log.append((retry.attempt, retry.at_cap, retry.warn))
        now += retry.delay
    warned = [attempt for attempt, _, warn in log if warn]
    # ceilings 1, 2, 4, 8, 8, ...: first failure, first at the cap (attempt 4), then one per
    # max(maximum, 5 s) = 8 s: every backoff at the cap here (each waits 8 s).
    assert warned == [1, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert [a for a, cap, _ in log if cap] == list(range(4, 13))

    # With a tiny maximum the cap warnings are spaced 5 s apart, not one per backoff.
    fast = Backoff(BackoffPolicy(initial=0.1, maximum=0.2), const(1.0))
    now, warned_at = 0.0, []
    while now < 20.0:
        retry = fast.failed(now)
        if retry.warn:
            warned_at.append(round(now, 3))
        now += retry.delay
    assert warned_at[:2] == [0.0, 0.1]  # first failure; first backoff at the cap
    assert len(warned_at) == 5  # then one per 5 s (5.1, 10.1, 15.1), not ~100 lines
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(warned_at[1:]))


def test_a_new_run_after_a_productive_connection_warns_again() -> None:
    backoff = Backoff(POLICY, const(1.0))
    assert backoff.failed(0.0).warn
    assert not backoff.failed(1.0).warn
    backoff.connected(2.0)
    backoff.disconnected(20.0, last_data=19.0)
    assert backoff.failed(20.0).warn


@pytest.mark.parametrize(
    "kwargs",
    [
        {"productive_after": -1.0},
        {"productive_after": float("nan")},
        {"retry_after_cap": 0.0},
        {"retry_after_cap": float("inf")},
    ],
)
def test_new_policy_fields_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
