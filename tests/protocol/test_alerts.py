"""The alert rule engine, on fake time: every rule's raise and resolve, exactly."""

from __future__ import annotations

import dataclasses
import math

import pytest

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.alerts import (
    ALERT_NAMES,
    RATE_WINDOW,
    SEVERITIES,
    STORM_WINDOW,
    AlertChange,
    AlertEngine,
    AlertRules,
    Observation,
)

OFF = AlertRules(**dict.fromkeys(ALERT_NAMES))
MIB = 1024 * 1024


def only(**thresholds: float) -> AlertRules:
    """Every rule off but the given ones."""
    return dataclasses.replace(OFF, **thresholds)


def names(changes: list[AlertChange]) -> list[tuple[str, bool]]:
    return [(c.name, c.raised) for c in changes]


# -- rules and their settings -----------------------------------------------------------------


def test_defaults_are_the_documented_ones() -> None:
    rules = AlertRules()
    assert rules.enabled() == ALERT_NAMES
    assert (rules.disconnected, rules.no_data, rules.reconnect_storm) == (30.0, 120.0, 5)
    assert (rules.gap_unrecoverable, rules.latency_p99_ms, rules.rss_mb) == (1, 1000.0, 1024.0)
    assert (rules.cpu_percent, rules.loop_lag_ms) == (90.0, 500.0)
    assert set(SEVERITIES) == set(ALERT_NAMES)
    assert OFF.enabled() == ()


def test_settings_change_and_disable_rules() -> None:
    rules = AlertRules().with_settings(["disconnected=10", " rss_mb = 512 ", "cpu_percent=OFF"])
    assert rules.disconnected == 10.0
    assert rules.rss_mb == 512.0
    assert rules.cpu_percent is None
    assert "cpu_percent" not in rules.enabled()
    assert AlertRules().with_settings([]) == AlertRules()


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("bogus=1", "NAME one of disconnected"),
        ("disconnected", "NAME=VALUE"),
        ("rss_mb=lots", "'lots' is not a number"),
        ("rss_mb=-1", "rss_mb: must be a finite number >= 0"),
        ("rss_mb=nan", "rss_mb: must be a finite number >= 0"),
        ("rss_mb=inf", "rss_mb: must be a finite number >= 0"),
        ("reconnect_storm=2.5", "reconnect_storm: must be a whole number"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_them(setting: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AlertRules().with_settings([setting])
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("value", [True, "5"])
def test_thresholds_must_be_numbers(value: object) -> None:
    with pytest.raises(ConfigurationError, match="expected a number"):
        AlertRules(rss_mb=value)  # type: ignore[arg-type]


# -- disconnected ------------------------------------------------------------------------------


def test_disconnected_raises_after_n_seconds_down_and_resolves_on_open() -> None:
    engine = AlertEngine(only(disconnected=30.0), now=0.0)
    up = Observation(endpoints={"public": True})
    down = Observation(endpoints={"public": False})
    assert engine.observe(0.0, up) == []
    assert engine.observe(10.0, down) == []
    assert engine.observe(39.9, down) == []
    [raised] = engine.observe(40.0, down)
    assert raised == AlertChange(
        "disconnected",
        True,
        "critical",
        "public endpoint not open for 30s (limit 30s)",
        since=10.0,
        value=30.0,
        at=40.0,
    )
    assert engine.observe(41.0, down) == []  # raised once, not per observation
    assert set(engine.firing) == {"disconnected"}
    [resolved] = engine.observe(45.0, up)
    assert (resolved.raised, resolved.since, resolved.at, resolved.value) == (
        False,
        10.0,
        45.0,
        0.0,
    )
    assert resolved.summary == "every endpoint is open"
    assert engine.firing == {}


def test_disconnected_counts_from_the_first_observation_and_picks_the_worst_endpoint() -> None:
    engine = AlertEngine(only(disconnected=5.0), now=0.0)
    engine.observe(0.0, Observation(endpoints={"public": False, "private": True}))
    engine.observe(3.0, Observation(endpoints={"public": False, "private": False}))
    [raised] = engine.observe(5.0, Observation(endpoints={"public": False, "private": False}))
    assert raised.summary.startswith("public endpoint not open for 5s")
    assert raised.since == 0.0
    # An endpoint the stream no longer has is not judged.
    [resolved] = engine.observe(6.0, Observation(endpoints={"private": True}))
    assert not resolved.raised


# -- no_data -----------------------------------------------------------------------------------


def test_no_data_raises_for_a_silent_type_and_resolves_when_data_returns() -> None:
    engine = AlertEngine(only(no_data=10.0), now=0.0)
    watched = frozenset({"ticker", "trade"})

    def obs(ticker: int, trade: int) -> Observation:
        return Observation(received={"ticker": ticker, "trade": trade}, watched=watched)

    assert engine.observe(0.0, obs(0, 0)) == []
    assert engine.observe(1.0, obs(5, 3)) == []
    assert engine.observe(5.0, obs(9, 3)) == []  # trade silent since 1.0
    assert engine.observe(10.9, obs(12, 3)) == []
    [raised] = engine.observe(11.0, obs(13, 3))
    assert raised.name == "no_data"
    assert raised.severity == "critical"
    assert raised.since == 1.0
    assert raised.value == 10.0
    assert raised.summary == "no trade data for 10s (limit 10s)"
    assert engine.last_data() == {"ticker": 11.0, "trade": 1.0}
    [resolved] = engine.observe(12.0, obs(14, 4))
    assert not resolved.raised
    assert resolved.summary == "every subscribed type delivered data recently"
    assert resolved.since == 1.0


def test_no_data_gives_a_new_subscription_its_time_and_forgets_unsubscribed_types() -> None:
    engine = AlertEngine(only(no_data=10.0), now=0.0)
    assert engine.observe(0.0, Observation()) == []  # nothing subscribed: nothing to judge
    assert engine.observe(5.0, Observation(watched=frozenset({"ticker"}))) == []
    assert engine.watch_from() == {"ticker": 5.0}
    assert engine.observe(14.9, Observation(watched=frozenset({"ticker"}))) == []
    [raised] = engine.observe(15.0, Observation(watched=frozenset({"ticker"})))
    assert raised.since == 5.0
    [resolved] = engine.observe(16.0, Observation())  # unsubscribed: no longer silent
    assert not resolved.raised
    assert engine.watch_from() == {}


def test_no_data_lists_every_silent_type() -> None:
    engine = AlertEngine(only(no_data=1.0), now=0.0)
    both = frozenset({"orderbook", "ticker"})
    engine.observe(0.0, Observation(watched=both))
    [raised] = engine.observe(2.0, Observation(watched=both))
    assert raised.summary == "no orderbook, ticker data for 2s (limit 1s)"


def test_short_durations_keep_their_tenths() -> None:
    engine = AlertEngine(only(no_data=0.5), now=0.0)
    engine.observe(0.0, Observation(watched=frozenset({"ticker"})))
    [raised] = engine.observe(0.75, Observation(watched=frozenset({"ticker"})))
    assert raised.summary == "no ticker data for 0.8s (limit 0.5s)"


# -- reconnect_storm and gap_unrecoverable (10-minute counts) ----------------------------------


def test_reconnect_storm_counts_reconnects_in_a_sliding_ten_minutes() -> None:
    engine = AlertEngine(only(reconnect_storm=2), now=0.0)
    assert engine.observe(0.0, Observation(reconnects=0)) == []
    assert engine.observe(100.0, Observation(reconnects=2)) == []  # 2 is not more than 2
    [raised] = engine.observe(200.0, Observation(reconnects=3))
    assert (raised.name, raised.value, raised.since) == ("reconnect_storm", 3.0, 200.0)
    assert raised.summary == "3 reconnects in the last 10 min (limit 2)"
    assert raised.severity == "warning"
    # At 700 s the base is the sample at 100 s (the newest one at or before 700 - 600).
    [resolved] = engine.observe(700.0, Observation(reconnects=3))
    assert (resolved.raised, resolved.value) == (False, 1.0)
    assert STORM_WINDOW == 600.0


def test_a_counter_that_went_down_was_reset() -> None:
    engine = AlertEngine(only(reconnect_storm=2), now=0.0)
    engine.observe(0.0, Observation(reconnects=10))
    [raised] = engine.observe(1.0, Observation(reconnects=3))
    assert raised.value == 3.0


def test_gap_unrecoverable_fires_at_once_and_clears_ten_minutes_later() -> None:
    engine = AlertEngine(only(gap_unrecoverable=1), now=0.0)
    assert engine.observe(0.0, Observation(gaps_unrecoverable=0)) == []
    [raised] = engine.observe(1.0, Observation(gaps_unrecoverable=1))
    assert raised.summary == "1 unrecoverable gap(s) in the last 10 min: data was lost"
    assert raised.severity == "critical"
    assert engine.observe(600.0, Observation(gaps_unrecoverable=1)) == []
    [resolved] = engine.observe(601.0, Observation(gaps_unrecoverable=1))
    assert resolved.value == 0.0


def test_gap_unrecoverable_zero_still_needs_a_gap() -> None:
    engine = AlertEngine(only(gap_unrecoverable=0), now=0.0)
    assert engine.observe(0.0, Observation()) == []
    assert names(engine.observe(1.0, Observation(gaps_unrecoverable=1))) == [
        ("gap_unrecoverable", True)
    ]


# -- latency_p99_ms (one minute of histogram) --------------------------------------------------


def hist(*counts: int) -> tuple[tuple[float, int], ...]:
    return tuple(zip((1.0, 10.0, 100.0, 1000.0, math.inf), counts, strict=True))


def test_latency_p99_over_the_last_minute() -> None:
    engine = AlertEngine(only(latency_p99_ms=50.0), now=0.0)
    assert engine.observe(0.0, Observation(latency=hist(0, 0, 0, 0, 0))) == []
    # 99 fast samples and 1 at ~100 ms: p99 is the 99th sample, fast.
    assert engine.observe(30.0, Observation(latency=hist(0, 99, 1, 0, 0))) == []
    # 2 slow of 101 in the minute: p99 (rank 100) lands in the 100 ms bucket.
    [raised] = engine.observe(40.0, Observation(latency=hist(0, 99, 2, 0, 0)))
    assert (raised.name, raised.value) == ("latency_p99_ms", 100.0)
    assert raised.summary == "latency p99 100 ms over the last minute (limit 50 ms)"
    # The window slides: at 91 s the base is the 30 s sample, so one slow sample remains.
    assert engine.observe(91.0, Observation(latency=hist(0, 99, 2, 0, 0))) == []
    # At 101 s the base is the 40 s sample: nothing new in the minute.
    [resolved] = engine.observe(101.0, Observation(latency=hist(0, 99, 2, 0, 0)))
    assert resolved.value is None
    assert resolved.summary == "no latency samples in the last minute"
    assert RATE_WINDOW == 60.0


def test_latency_reset_or_new_histogram_counts_all_of_it() -> None:
    engine = AlertEngine(only(latency_p99_ms=50.0), now=0.0)
    engine.observe(0.0, Observation(latency=hist(0, 5, 5, 0, 0)))
    [raised] = engine.observe(1.0, Observation(latency=hist(0, 0, 0, 3, 0)))  # went down
    assert raised.value == 1000.0
    engine2 = AlertEngine(only(latency_p99_ms=50.0), now=0.0)
    engine2.observe(0.0, Observation())
    [raised2] = engine2.observe(1.0, Observation(latency=hist(0, 0, 0, 0, 1)))
    assert raised2.value == math.inf


# -- rss_mb, cpu_percent, loop_lag_ms ----------------------------------------------------------


def test_rss_mb() -> None:
    engine = AlertEngine(only(rss_mb=100.0), now=0.0)
    assert engine.observe(0.0, Observation()) == []  # unknown: never fires
    assert engine.observe(1.0, Observation(rss_bytes=100 * MIB)) == []
    [raised] = engine.observe(2.0, Observation(rss_bytes=150 * MIB))
    assert (raised.value, raised.summary) == (150.0, "resident memory 150 MiB (limit 100 MiB)")
    [resolved] = engine.observe(3.0, Observation())
    assert resolved.summary == "resident memory unknown"


def test_cpu_percent_over_the_last_minute() -> None:
    engine = AlertEngine(only(cpu_percent=50.0), now=0.0)
    assert engine.observe(0.0, Observation()) == []
    assert engine.observe(1.0, Observation(cpu_seconds=10.0)) == []  # one sample: no rate
    assert engine.observe(11.0, Observation(cpu_seconds=14.0)) == []  # 40 %
    [raised] = engine.observe(21.0, Observation(cpu_seconds=22.0))  # 12 s over 20 s: 60 %
    assert raised.value == pytest.approx(60.0)
    assert raised.summary == "CPU 60% over the last 20s (limit 50%)"
    # At 71 s the base is the newest sample at or before 71 - 60 = 11 s: 8 s over 60 s.
    [resolved] = engine.observe(71.0, Observation(cpu_seconds=22.0))
    assert resolved.value == pytest.approx(8.0 / 60.0 * 100.0)
    assert resolved.summary == "CPU 13% over the last 60s (limit 50%)"


def test_loop_lag_ms() -> None:
    engine = AlertEngine(only(loop_lag_ms=200.0), now=0.0)
    assert engine.observe(0.0, Observation()) == []
    assert engine.observe(1.0, Observation(loop_lag=0.2)) == []
    [raised] = engine.observe(2.0, Observation(loop_lag=0.35))
    assert (raised.value, raised.summary) == (350.0, "event-loop lag 350 ms (limit 200 ms)")
    [resolved] = engine.observe(3.0, Observation())
    assert resolved.summary == "event-loop lag unknown"


# -- the engine as a whole ---------------------------------------------------------------------


def test_transitions_come_in_rule_order_and_disabled_rules_never_fire() -> None:
    engine = AlertEngine(AlertRules(cpu_percent=None), now=0.0)
    bad = Observation(
        endpoints={"public": False},
        watched=frozenset({"ticker"}),
        reconnects=100,
        gaps_unrecoverable=1,
        latency=hist(0, 0, 0, 0, 5),
        rss_bytes=4096 * MIB,
        cpu_seconds=1e9,
        loop_lag=2.0,
    )
    first = engine.observe(
        0.0, dataclasses.replace(bad, reconnects=0, gaps_unrecoverable=0, latency=())
    )
    assert names(first) == [("rss_mb", True), ("loop_lag_ms", True)]  # instant rules
    changes = first + engine.observe(1000.0, bad)
    changes.sort(key=lambda c: ALERT_NAMES.index(c.name))
    assert names(changes) == [(n, True) for n in ALERT_NAMES if n != "cpu_percent"]
    assert [c.severity for c in changes] == [SEVERITIES[c.name] for c in changes]
    assert list(engine.firing) == [n for n in ALERT_NAMES if n != "cpu_percent"]


def test_windows_keep_bounded_samples_however_often_fed() -> None:
    engine = AlertEngine(only(reconnect_storm=5, cpu_percent=50.0), now=0.0)
    for i in range(1000):  # ten observations a second for 100 s
        engine.observe(i / 10, Observation(reconnects=i // 200, cpu_seconds=i / 100))
    # Kept samples are at least max(feed interval, resolution - feed interval) apart.
    assert len(engine._reconnects) <= 100 / (5 - 0.1) + 2
    assert len(engine._cpu) <= 60 / (1 - 0.1) + 2
    # ...and the windows still measure: 10 % CPU over the last minute, no storm.
    assert engine.firing == {}
    [raised] = engine.observe(100.0, Observation(reconnects=20, cpu_seconds=9.99))
    assert raised.name == "reconnect_storm"
