"""The long soak's leak report (bench/soak.py): the RSS slope over the second half, fd and
task ranges, and stream deaths, computed from samples (no run needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", SOAK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


soak = _load()


def _samples(rss: Any, seconds: int = 3600, every: int = 10) -> list[dict[str, float]]:
    return [
        {"t": float(t), "rss": rss(t), "sim_rss": 60.0, "fds": 14, "tasks": 9, "tape_mb": t / 3600}
        for t in range(0, seconds + 1, every)
    ]


def test_slope_per_hour_is_a_least_squares_fit() -> None:
    assert soak.slope_per_hour([(0.0, 10.0), (1800.0, 15.0), (3600.0, 20.0)]) == pytest.approx(10)
    assert soak.slope_per_hour([(0.0, 5.0), (10.0, 5.0)]) == 0.0
    assert soak.slope_per_hour([(0.0, 5.0)]) == 0.0


def test_a_plateau_has_zero_slope_over_the_second_half() -> None:
    """Warm-up growth in the first half does not count; a plateau after it is ≈ 0."""
    summary = soak.leak_summary(_samples(lambda t: 40.0 + min(t, 900) / 100))
    assert summary["rss_slope_mb_per_h"] == pytest.approx(0.0, abs=1e-9)
    assert summary["tape_slope_mb_per_h"] == pytest.approx(1.0)
    assert summary["fds_range"] == [14, 14]
    assert summary["tasks_range_second_half"] == [9, 9]


def test_a_leak_shows_as_a_slope() -> None:
    summary = soak.leak_summary(_samples(lambda t: 40.0 + 3 * t / 3600))
    assert summary["rss_slope_mb_per_h"] == pytest.approx(3.0)
    assert summary["rss_slope_net_of_tape_mb_per_h"] == pytest.approx(2.0)


def test_the_report_prints_the_slope_and_stream_deaths() -> None:
    result: dict[str, Any] = {
        "date": "2026-01-01T00:00:00+00:00",
        "python": "3.11",
        "machine": "x86_64",
        "seconds": 3600.0,
        "markets": ["KRW-BTC"],
        "trade_rate": 1.5,
        "fault_every_s": 1.6,
        "faults_applied": {"drop": 1},
        "faults_total": 1,
        "reconnections": 1500,
        "streams": 2,
        "stream_deaths": [{"t": 300.0, "error": "ClientConnectionResetError: closing"}],
        "trades": {"expected": 1, "received": 1, "missing": 0, "duplicates": 0, "extra": 0},
        "per_market": {"KRW-BTC": {"expected": 1, "received": 1, "missing": 0, "duplicates": 0}},
        "trades_recovered": 0,
        "duplicates_suppressed": 0,
        "gaps": {"opened": 0, "filled": 0, "unrecoverable": 0},
        "out_of_order": 0,
        "unrecoverable_reasons": [],
        "rest_requests": 0,
        "rejected_upgrades": 0,
        "rss_mb": {"start": 40.0, "end": 41.0},
        "long": True,
        "leaks": soak.leak_summary(_samples(lambda t: 40.0)),
        "complete": True,
    }
    text = soak.render(result)
    assert "client RSS slope, second half | 0.0 MB/h" in text
    assert "1 stream death(s)" in text
    assert "ClientConnectionResetError" in text
    assert "open fds" in text
    assert "asyncio tasks" in text
