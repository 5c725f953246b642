"""Keepalive and data watchdog on a fake clock (protocol §5).

The failure it guards against: architecture §3, "a stall with pings still answered".
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError, DataStalledError, PongTimeoutError
from upbitws.protocol.liveness import (
    Action,
    Dead,
    Liveness,
    LivenessPolicy,
    Probe,
    SendPing,
    Stalled,
)


def make(**kwargs: object) -> Liveness:
    live = Liveness(LivenessPolicy(**kwargs))  # type: ignore[arg-type]
    live.opened(0.0)
    return live


# -- ping mode ----------------------------------------------------------------------------


def test_nothing_before_opened() -> None:
    live = Liveness(LivenessPolicy())
    assert live.poll(1000.0) is None
    assert live.next_deadline(1000.0) is None


def test_ping_cadence() -> None:
    live = make(ping_interval=10.0, data_timeout=None)
    assert live.poll(9.99) is None
    assert live.next_deadline(0.0) == 10.0
    assert live.poll(10.0) == SendPing()
    live.ping_sent(10.0)
    live.pong_received(10.2)
    assert live.poll(19.9) is None
    assert live.next_deadline(10.2) == 20.0
    assert isinstance(live.poll(20.0), SendPing)


def test_dead_exactly_pong_timeout_after_the_ping() -> None:
    live = make(ping_interval=10.0, pong_timeout=30.0, data_timeout=None)
    live.ping_sent(10.0)
    for t in (20.0, 30.0):  # later pings do not move the deadline of the oldest one
        assert isinstance(live.poll(t), SendPing)
        live.ping_sent(t)
    assert live.poll(39.999) is None
    assert live.next_deadline(35.0) == 40.0
    action = live.poll(40.0)
    assert isinstance(action, Dead)
    assert "30 s" in action.reason
    assert isinstance(action.error(), PongTimeoutError)
    assert str(action.error()) == action.reason


def test_pong_answers_all_outstanding_pings() -> None:
    live = make(data_timeout=None)
    live.ping_sent(10.0)
    live.ping_sent(20.0)
    live.pong_received(25.0)  # answers both
    live.ping_sent(30.0)
    assert live.next_deadline(30.0) == 40.0  # the next ping, not a death
    live.ping_sent(40.0)
    live.ping_sent(50.0)
    assert live.poll(59.9) is None
    assert isinstance(live.poll(60.0), Dead)  # 30 + 30: the oldest unanswered ping


def test_data_counts_as_alive() -> None:
    live = make(data_timeout=None)
    live.ping_sent(10.0)
    live.data_received(35.0)  # no pong, but the connection delivers data
    assert not isinstance(live.poll(45.0), Dead)
    live.ping_sent(45.0)
    assert not isinstance(live.poll(74.9), Dead)
    assert isinstance(live.poll(75.0), Dead)


def test_frames_before_the_ping_do_not_answer_it() -> None:
    live = make(data_timeout=None)
    live.data_received(9.0)
    live.ping_sent(10.0)
    assert isinstance(live.poll(40.0), Dead)


def test_opened_resets_state() -> None:
    live = make(data_timeout=None)
    live.ping_sent(10.0)
    live.opened(100.0)
    assert live.poll(109.9) is None
    assert live.next_deadline(100.0) == 110.0


# -- status mode (text PING -> {"status":"UP"} every 10 s) ---------------------------------


def test_status_mode_sends_ping_at_open_then_only_when_up_stops() -> None:
    live = make(mode="status", data_timeout=None)
    assert live.poll(0.0) == SendPing()
    live.ping_sent(0.0)
    assert live.poll(0.0) is None
    for t in (3.0, 13.0, 23.0, 33.0):
        live.pong_received(t)  # {"status":"UP"}
        assert live.poll(t + 9.9) is None
    # no UP since 33: re-send PING at 33 + 20
    assert live.next_deadline(34.0) == 53.0
    assert live.poll(52.9) is None
    assert isinstance(live.poll(53.0), SendPing)
    live.ping_sent(53.0)
    # re-sending PING does not extend the deadline: dead 30 s after the last UP
    assert live.next_deadline(53.0) == 63.0
    action = live.poll(63.0)
    assert isinstance(action, Dead)
    assert "UP" in action.reason


def test_status_mode_dead_from_the_ping_when_no_up_ever() -> None:
    live = make(mode="status", data_timeout=None)
    live.opened(5.0)
    live.ping_sent(5.0)
    assert isinstance(live.poll(25.0), SendPing)
    live.ping_sent(25.0)
    assert live.poll(34.9) is None
    assert isinstance(live.poll(35.0), Dead)


def test_status_mode_data_counts_as_alive() -> None:
    live = make(mode="status", data_timeout=None)
    live.ping_sent(0.0)
    live.data_received(25.0)
    assert not isinstance(live.poll(54.9), Dead)
    assert isinstance(live.poll(55.0), Dead | SendPing)
    live.ping_sent(55.0)
    assert isinstance(live.poll(55.0), Dead)


# -- data watchdog ------------------------------------------------------------------------


def test_watchdog_armed_from_subscribe_even_without_a_first_message() -> None:
    live = make(ping_interval=1000.0, data_timeout=60.0, probe_timeout=10.0)
    live.subscribed(5.0, watch=True)
    assert live.poll(64.9) is None
    assert live.next_deadline(6.0) == 65.0
    assert live.poll(65.0) == Probe()
    live.probe_sent(65.0)
    assert live.poll(74.9) is None
    assert live.next_deadline(65.0) == 75.0
    action = live.poll(75.0)
    assert isinstance(action, Stalled)
    assert isinstance(action.error(), DataStalledError)
    assert "60 s" in action.reason


def test_watchdog_restarts_from_each_data_frame() -> None:
    live = make(ping_interval=1000.0)
    live.subscribed(0.0)
    live.data_received(50.0)
    assert live.poll(109.9) is None
    assert isinstance(live.poll(110.0), Probe)


def test_data_after_probe_cancels_it() -> None:
    live = make(ping_interval=1000.0)
    live.subscribed(0.0)
    live.probe_sent(60.0)
    live.data_received(61.0)  # the fresh SNAPSHOT
    assert live.poll(75.0) is None
    assert live.next_deadline(61.0) == 121.0
    assert isinstance(live.poll(121.0), Probe)


def test_resubscribe_rearms_and_clears_probe() -> None:
    live = make(ping_interval=1000.0)
    live.subscribed(0.0)
    live.probe_sent(60.0)
    live.subscribed(65.0)
    assert live.poll(124.9) is None
    assert isinstance(live.poll(125.0), Probe)


def test_watch_false_never_probes() -> None:
    live = make(ping_interval=1000.0)
    live.subscribed(0.0, watch=False)  # private types only: silent for hours is normal
    assert live.poll(999.0) is None
    assert live.next_deadline(0.0) == 1000.0  # only the ping


def test_data_timeout_none_disables_the_watchdog() -> None:
    live = make(ping_interval=1000.0, data_timeout=None)
    live.subscribed(0.0)
    assert live.poll(999.0) is None


def test_quiet_market_with_pongs_is_not_dead() -> None:
    # The reference bug: a 30-s read deadline killed connections on a quiet market.
    live = make(data_timeout=None)
    now = 0.0
    while now < 3600.0:
        now += 10.0
        assert isinstance(live.poll(now), SendPing)
        live.ping_sent(now)
        live.pong_received(now + 0.2)
    assert live.poll(now + 0.2) is None


def test_priority_dead_before_ping() -> None:
    live = make(data_timeout=None)
    live.ping_sent(10.0)
    assert isinstance(live.poll(100.0), Dead)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ping_interval": 0.0},
        {"pong_timeout": -1.0},
        {"probe_timeout": float("inf")},
        {"data_timeout": 0.0},
        {"mode": "pong"},
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        LivenessPolicy(**kwargs)  # type: ignore[arg-type]


# -- property: next_deadline is never later than the next action ----------------------------

EVENTS = ("ping", "pong", "data", "subscribe", "subscribe_quiet", "probe", "open", "none")

events_st = st.lists(
    st.tuples(st.floats(0.0, 50.0), st.sampled_from(EVENTS)),
    max_size=40,
)
policy_st = st.builds(
    LivenessPolicy,
    ping_interval=st.floats(0.5, 30.0),
    pong_timeout=st.floats(0.5, 60.0),
    mode=st.sampled_from(["ping", "status"]),
    data_timeout=st.one_of(st.none(), st.floats(0.5, 120.0)),
    probe_timeout=st.floats(0.5, 30.0),
)


def apply(live: Liveness, event: str, now: float) -> None:
    if event == "ping":
        live.ping_sent(now)
    elif event == "pong":
        live.pong_received(now)
    elif event == "data":
        live.data_received(now)
    elif event == "subscribe":
        live.subscribed(now, watch=True)
    elif event == "subscribe_quiet":
        live.subscribed(now, watch=False)
    elif event == "probe":
        live.probe_sent(now)
    elif event == "open":
        live.opened(now)


def react(live: Liveness, action: Action | None, now: float) -> None:
    """What a driver does with an action; Dead / Stalled reconnect at once."""
    if isinstance(action, SendPing):
        live.ping_sent(now)
    elif isinstance(action, Probe):
        live.probe_sent(now)
    elif isinstance(action, Dead | Stalled):
        live.opened(now)


@settings(max_examples=300, deadline=None)
@given(policy=policy_st, events=events_st, fracs=st.lists(st.floats(0.0, 1.0), min_size=3))
def test_next_deadline_is_never_after_the_next_action(
    policy: LivenessPolicy, events: list[tuple[float, str]], fracs: list[float]
) -> None:
    live = Liveness(policy)
    live.opened(0.0)
    now = 0.0
    for gap, event in events:
        target = now + gap
        for _ in range(10_000):
            deadline = live.next_deadline(now)
            assert deadline is None or deadline >= now
            horizon = target if deadline is None else min(deadline, target)
            # nothing happens before the deadline ...
            for frac in fracs:
                t = now + frac * (horizon - now)
                if deadline is None or t < deadline:
                    assert live.poll(t) is None
            if deadline is not None and deadline > now:
                # exact: the last instant before the deadline is still quiet
                assert live.poll(math.nextafter(deadline, -math.inf)) is None
            if deadline is None or deadline > target:
                break
            # ... and something happens exactly at it: the driver wakes and reacts
            action = live.poll(deadline)
            assert action is not None
            now = deadline
            react(live, action, now)
        else:
            pytest.fail("actions kept coming due without time passing")
        now = target
        apply(live, event, now)
        react(live, live.poll(now), now)
