"""Message latency percentiles, cheap enough to record every message.

Latency is receive time minus Upbit's ``timestamp`` (epoch milliseconds, protocol §4.1),
in milliseconds. It mixes network delay with clock skew between Upbit and this machine,
so it can be negative; those samples land in the lowest bucket and are counted in
``negative`` (a growing count means the local clock runs behind). Statistics report
message latency (p50/p99/max); this is the measuring instrument.

The recorder is a fixed histogram of log-spaced buckets (1 µs … 60 s by default, each
bucket ``growth`` = 5 % wider than the last), preallocated once: ``record`` is one
``log`` and one list increment, and memory does not grow with the message count.
A percentile is reported as the geometric middle of its bucket, so it is within
``sqrt(growth) - 1`` (~2.5 %) of the exact nearest-rank value for samples in range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from upbitws.exceptions import ConfigurationError

__all__ = ["LatencyRecorder", "LatencySnapshot"]


@dataclass(frozen=True, slots=True)
class LatencySnapshot:
    """Latency summary in milliseconds; the percentiles are None when nothing was recorded."""

    count: int
    p50: float | None
    p99: float | None
    max: float | None
    negative: int = 0

    @property
    def clocks_disagree(self) -> bool:
        """More than 5 % of the samples are negative: the exchange's clock is ahead of ours by
        more than the network delay, so the percentiles measure clock skew, not latency."""
        return self.count > 0 and self.negative * 20 > self.count

    def describe(self) -> str:
        """``p50 3.1 ms, p99 8.0 ms, max 12.4 ms`` — or why no percentiles are shown."""
        if not self.count or self.p50 is None or self.p99 is None or self.max is None:
            return "no samples yet"
        if self.clocks_disagree:
            return (
                f"not shown: clocks disagree ({self.negative:,} of {self.count:,} samples negative)"
            )
        return f"p50 {self.p50:,.1f} ms, p99 {self.p99:,.1f} ms, max {self.max:,.1f} ms"


class LatencyRecorder:
    """Histogram of latencies in milliseconds with bounded relative error."""

    __slots__ = (
        "_bounds",
        "_buckets",
        "_count",
        "_inv_log_growth",
        "_last",
        "_max",
        "_mids",
        "_negative",
        "_top",
        "growth",
        "highest",
        "lowest",
    )

    def __init__(
        self, *, lowest: float = 0.001, highest: float = 60_000.0, growth: float = 1.05
    ) -> None:
        if not (math.isfinite(lowest) and lowest > 0):
            raise ConfigurationError(f"lowest must be a finite number > 0, got {lowest!r}")
        if not (math.isfinite(highest) and highest > lowest):
            raise ConfigurationError(f"highest must be finite and > lowest, got {highest!r}")
        if not (math.isfinite(growth) and 1 < growth <= 2):
            raise ConfigurationError(f"growth must be in (1, 2], got {growth!r}")
        self.lowest = float(lowest)
        self.highest = float(highest)
        self.growth = float(growth)
        self._inv_log_growth = 1.0 / math.log(growth)
        # Bucket 0: below ``lowest`` (incl. negatives); bucket i >= 1:
        # [lowest * growth**(i-1), lowest * growth**i); the last bucket is open-ended.
        inner = math.ceil(math.log(highest / lowest) * self._inv_log_growth)
        self._last = inner + 1
        self._mids: list[float] = [self.lowest] + [
            self.lowest * growth ** (i - 0.5) for i in range(1, self._last + 1)
        ]
        self._top = self.lowest * growth**inner
        self._buckets = [0] * (self._last + 1)
        self._bounds = (*(self.lowest * growth**i for i in range(self._last)), math.inf)
        self._count = 0
        self._negative = 0
        self._max = -math.inf

    def record(self, ms: float) -> None:
        """Count one latency sample (milliseconds)."""
        self._count += 1
        if ms > self._max:
            self._max = ms
        if ms >= self.lowest:  # False for NaN, too
            if ms >= self._top:
                index = self._last
            else:
                index = int(math.log(ms / self.lowest) * self._inv_log_growth) + 1
                # Guard the float rounding at bucket edges.
                index = min(index, self._last - 1)
            self._buckets[index] += 1
        else:
            if ms < 0:
                self._negative += 1
            self._buckets[0] += 1

    @property
    def count(self) -> int:
        return self._count

    @property
    def negative(self) -> int:
        """Samples below zero (clock skew), also counted in the lowest bucket."""
        return self._negative

    @property
    def max(self) -> float | None:
        return self._max if self._count else None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank ``p``-th percentile (0 <= p <= 100) in ms, or None when empty."""
        if not (0 <= p <= 100):
            raise ConfigurationError(f"percentile must be within [0, 100], got {p!r}")
        if not self._count:
            return None
        rank = max(1, math.ceil(p / 100 * self._count))
        if rank >= self._count:
            return self._max  # the largest sample is known exactly
        seen = 0
        buckets = self._buckets
        for index in range(self._last):
            seen += buckets[index]
            if seen >= rank:
                return min(self._mids[index], self._max)
        return self._max  # in the open-ended last bucket: the best estimate is the max

    def buckets(self) -> list[tuple[float, int]]:
        """``(upper bound ms, samples)`` per bucket, in order; the last bound is ``inf``.

        For the metrics exporter and the alert engine (read at scrape time, never per
        message)."""
        return list(zip(self._bounds, self._buckets, strict=True))

    def estimated_sum(self) -> float:
        """Sum of the samples in ms, estimated from bucket midpoints (the histogram keeps no
        exact sum: one less addition per sample)."""
        return sum(mid * n for mid, n in zip(self._mids, self._buckets, strict=True))

    def reset(self) -> None:
        for i in range(len(self._buckets)):
            self._buckets[i] = 0
        self._count = 0
        self._negative = 0
        self._max = -math.inf

    def snapshot(self) -> LatencySnapshot:
        return LatencySnapshot(
            count=self._count,
            p50=self.percentile(50),
            p99=self.percentile(99),
            max=self.max,
            negative=self._negative,
        )
