"""Latency histogram: bounded relative error, clamping, snapshots."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.latency import LatencyRecorder, LatencySnapshot


def exact(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def test_empty() -> None:
    rec = LatencyRecorder()
    assert rec.count == 0
    assert rec.max is None
    assert rec.percentile(50) is None
    assert rec.snapshot() == LatencySnapshot(count=0, p50=None, p99=None, max=None, negative=0)


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_within_five_percent_seeded(seed: int) -> None:
    rng = random.Random(seed)
    # log-normal around ~30 ms with a long tail, like network latency
    values = [rng.lognormvariate(math.log(30.0), 1.2) for _ in range(20_000)]
    rec = LatencyRecorder()
    for v in values:
        rec.record(v)
    assert rec.count == len(values)
    assert rec.max == max(values)
    for p in (0, 1, 10, 50, 90, 99, 99.9, 100):
        got = rec.percentile(p)
        assert got is not None
        assert got == pytest.approx(exact(values, p), rel=0.05)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0.001, max_value=60_000.0), min_size=1, max_size=300),
    p=st.floats(0.0, 100.0),
)
def test_percentiles_within_five_percent_property(values: list[float], p: float) -> None:
    rec = LatencyRecorder()
    for v in values:
        rec.record(v)
    got = rec.percentile(p)
    assert got is not None
    assert got == pytest.approx(exact(values, p), rel=0.05)


def test_max_is_exact_and_p100_is_the_max() -> None:
    rec = LatencyRecorder()
    for v in (1.0, 2.0, 123.456):
        rec.record(v)
    assert rec.max == 123.456
    assert rec.percentile(100) == 123.456


def test_negative_latency_clamps_into_the_lowest_bucket() -> None:
    rec = LatencyRecorder()
    rec.record(-5.0)
    rec.record(-0.5)
    rec.record(0.0)
    rec.record(10.0)
    assert rec.count == 4
    assert rec.negative == 2
    assert rec.percentile(50) == pytest.approx(0.001)  # the lowest bucket's value
    assert rec.percentile(100) == 10.0
    assert rec.snapshot().negative == 2


def test_values_above_the_range_report_the_max() -> None:
    rec = LatencyRecorder()
    rec.record(5.0)
    rec.record(3_600_000.0)  # an hour: beyond 60 s
    assert rec.percentile(100) == 3_600_000.0
    assert rec.percentile(50) == pytest.approx(5.0, rel=0.05)


def test_bucket_edges() -> None:
    rec = LatencyRecorder()
    for v in (0.001, 60_000.0, 0.001 * 1.05**10):
        rec.record(v)
    assert rec.percentile(0) == pytest.approx(0.001, rel=0.05)
    assert rec.percentile(50) == pytest.approx(0.001 * 1.05**10, rel=0.05)
    assert rec.percentile(100) == 60_000.0


def test_snapshot_and_reset() -> None:
    rec = LatencyRecorder()
    for v in range(1, 101):
        rec.record(float(v))
    snap = rec.snapshot()
    assert snap.count == 100
    assert snap.p50 == pytest.approx(50.0, rel=0.05)
    assert snap.p99 == pytest.approx(99.0, rel=0.05)
    assert snap.max == 100.0
    rec.reset()
    assert rec.count == 0
    assert rec.negative == 0
    assert rec.max is None
    assert rec.percentile(99) is None
    rec.record(7.0)
    assert rec.percentile(50) == pytest.approx(7.0, rel=0.05)


def test_memory_does_not_grow() -> None:
    rec = LatencyRecorder()
    size = len(rec._buckets)
    for i in range(10_000):
        rec.record(float(i))
    assert len(rec._buckets) == size
    assert size < 500


@pytest.mark.parametrize("p", [-1.0, 100.1, float("nan")])
def test_percentile_range(p: float) -> None:
    with pytest.raises(ConfigurationError):
        LatencyRecorder().percentile(p)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lowest": 0.0},
        {"highest": 0.0001},
        {"growth": 1.0},
        {"growth": 3.0},
        {"lowest": float("nan")},
    ],
)
def test_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        LatencyRecorder(**kwargs)


def test_a_percentile_in_the_open_ended_top_bucket_is_the_max() -> None:
    rec = LatencyRecorder(highest=1000.0)
    for ms in (5.0, 90_000.0, 120_000.0):  # two samples beyond ``highest``
        rec.record(ms)
    assert rec.percentile(50) == 120_000.0  # the median sits in the top bucket: the max
    assert rec.percentile(10) == pytest.approx(5.0, rel=0.03)  # an inner bucket's middle
