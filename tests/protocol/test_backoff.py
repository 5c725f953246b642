"""Backoff: full jitter, cap, stable-time reset, retry limits across reconnects.

The rules are architecture §2.3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.backoff import Backoff, BackoffPolicy
from upbitws.protocol.ratelimit import CONNECT_WINDOWS, SlidingWindowLimiter


def const(value: float) -> Callable[[], float]:
    return lambda: value


def seq(values: Iterable[float]) -> Callable[[], float]:
    it = iter(values)
    return lambda: next(it)


def test_full_jitter_scales_the_ceiling() -> None:
    backoff = Backoff(BackoffPolicy(), seq([0.5, 0.25, 0.0, 0.999]))
    assert backoff.next_delay() == pytest.approx(0.25)  # 0.5 * 0.5
    assert backoff.next_delay() == pytest.approx(0.25)  # 0.25 * 1.0
    assert backoff.next_delay() == 0.0  # 0.0 * 2.0
    assert backoff.next_delay() == pytest.approx(0.999 * 4.0)
    assert backoff.attempt == 4


def test_growth_and_cap() -> None:
    backoff = Backoff(BackoffPolicy(initial=0.5, maximum=30.0, multiplier=2.0), const(1.0))
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_huge_attempt_does_not_overflow() -> None:
    backoff = Backoff(BackoffPolicy(), const(1.0))
    backoff.attempt = 100_000
    assert backoff.next_delay() == 30.0


def test_retry_after_is_a_floor() -> None:
    backoff = Backoff(BackoffPolicy(), const(1.0))
    assert backoff.next_delay(retry_after=5.0) == 5.0  # jitter 0.5 < 5
    assert backoff.attempt == 1
    backoff.attempt = 10
    assert backoff.next_delay(retry_after=5.0) == 30.0  # jitter 30 > 5
    # 418: the caller passes a longer wait
    assert backoff.next_delay(retry_after=60.0) == 60.0


def test_rng_out_of_range_is_clamped() -> None:
    assert Backoff(BackoffPolicy(), const(-3.0)).next_delay() == 0.0
    assert Backoff(BackoffPolicy(), const(7.0)).next_delay() == 0.5


def test_stable_connection_resets() -> None:
    backoff = Backoff(BackoffPolicy(stable_after=30.0), const(1.0))
    for _ in range(5):
        backoff.next_delay()
    backoff.connected(100.0)
    assert backoff.attempt == 5  # a successful handshake alone resets nothing
    assert backoff.disconnected(130.0) is True
    assert backoff.attempt == 0
    assert backoff.next_delay() == 0.5


def test_short_connection_does_not_reset() -> None:
    backoff = Backoff(BackoffPolicy(stable_after=30.0), const(1.0))
    for _ in range(5):
        backoff.next_delay()
    backoff.connected(100.0)
    assert backoff.disconnected(129.9) is False
    assert backoff.attempt == 5
    assert backoff.next_delay() == 16.0  # keeps growing


def test_disconnected_without_connected_does_not_reset() -> None:
    backoff = Backoff(BackoffPolicy(stable_after=0.0), const(1.0))
    backoff.next_delay()
    assert backoff.disconnected(1000.0) is False
    assert backoff.attempt == 1


def test_reset() -> None:
    backoff = Backoff(BackoffPolicy(), const(1.0))
    backoff.next_delay()
    backoff.connected(0.0)
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.disconnected(1000.0) is False


def test_max_retries_counts_across_drop_reconnect_cycles() -> None:
    # The reference manager reset retryCount in Connect, so its limit never limited anything.
    backoff = Backoff(BackoffPolicy(max_retries=3, stable_after=30.0), const(1.0))
    now = 0.0
    cycles = 0
    while not backoff.exhausted:
        backoff.connected(now)  # handshake succeeds ...
        now += 1.0
        backoff.disconnected(now)  # ... and the server drops us after 1 s
        now += backoff.next_delay()
        cycles += 1
        assert cycles < 100
    assert cycles == 3
    assert backoff.attempt == 3


def test_max_retries_restarts_after_a_stable_connection() -> None:
    backoff = Backoff(BackoffPolicy(max_retries=2, stable_after=10.0), const(1.0))
    backoff.next_delay()
    backoff.next_delay()
    assert backoff.exhausted
    backoff.connected(0.0)
    backoff.disconnected(10.0)
    assert not backoff.exhausted


def test_max_retries_zero_and_none() -> None:
    assert Backoff(BackoffPolicy(max_retries=0), const(1.0)).exhausted
    backoff = Backoff(BackoffPolicy(), const(1.0))
    backoff.attempt = 10**9
    assert not backoff.exhausted


def simulate_accept_then_close(backoff: Backoff, duration: float) -> int:
    """A server that accepts the upgrade and closes at once; returns the connects made."""
    now = 0.0
    attempts = 0
    while now < duration:
        attempts += 1
        backoff.connected(now)
        backoff.disconnected(now + 0.001)
        now += 0.001 + backoff.next_delay()
    return attempts


@pytest.mark.parametrize(("r", "bound"), [(1.0, 8), (0.5, 10)])
def test_accept_then_close_server_cannot_cause_a_storm(r: float, bound: int) -> None:
    attempts = simulate_accept_then_close(Backoff(BackoffPolicy(), const(r)), 60.0)
    assert attempts <= bound <= 15


def test_reset_on_handshake_would_have_stormed() -> None:
    # The bug we avoid: with stable_after=0 every accept resets, and the delay stays tiny.
    attempts = simulate_accept_then_close(
        Backoff(BackoffPolicy(stable_after=0.0), const(0.5)), 60.0
    )
    assert attempts > 200


def test_connect_limiter_bounds_even_zero_jitter() -> None:
    # Full jitter may draw ~0 every time; the 5/s connect limiter is the hard floor (§7).
    backoff = Backoff(BackoffPolicy(), const(0.0))
    limiter = SlidingWindowLimiter(CONNECT_WINDOWS)
    now = 0.0
    attempts = 0
    while True:
        now += limiter.delay(now)
        if now >= 60.0:
            break
        limiter.record(now)
        attempts += 1
        backoff.connected(now)
        backoff.disconnected(now)
        now += backoff.next_delay()
    assert attempts <= 5 * 60


@given(
    rolls=st.lists(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), max_size=60),
    retry=st.one_of(st.none(), st.floats(min_value=0.0, max_value=600.0)),
)
def test_delay_bounds(rolls: list[float], retry: float | None) -> None:
    policy = BackoffPolicy()
    backoff = Backoff(policy, seq(rolls))
    for attempt in range(len(rolls)):
        delay = backoff.next_delay(retry)
        assert 0.0 <= delay <= max(policy.ceiling(attempt), retry or 0.0)
        if retry is not None:
            assert delay >= retry
        assert backoff.attempt == attempt + 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0.0},
        {"initial": -1.0},
        {"initial": float("nan")},
        {"maximum": 0.1},
        {"maximum": float("inf")},
        {"multiplier": 0.5},
        {"stable_after": -1.0},
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
    ],
)
def test_policy_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    policy = BackoffPolicy()
    with pytest.raises(AttributeError):
        policy.initial = 1.0  # type: ignore[misc]
