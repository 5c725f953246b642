"""The process a stream runs in: resident memory, CPU, open fds and event-loop lag.

Long-running collectors die of slow leaks and blocked loops, so ``stats()`` shows these beside
the stream's own counters (docs/operations.md). Memory and fds are read when asked (one small
``/proc`` read each); CPU % and loop lag need time to pass, so a :class:`ProcessProbe` task,
owned by the stream, wakes every ``interval`` seconds and measures how late it woke — a blocked
loop is the most common cause of "the exchange is slow" reports.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import Final

__all__ = ["ProcessProbe", "open_fds", "rss_bytes"]

_PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int | None:
    """Resident memory now (Linux ``/proc/self/statm``); None where unavailable."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


def open_fds() -> int | None:
    """Open file descriptors now; None where the platform does not list them."""
    for path in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(path))
        except OSError:
            continue
    return None


class ProcessProbe:
    """Loop lag and CPU %, measured by a task waking every ``interval`` seconds.

    ``lag`` is the worst lateness of the last ``window`` wake-ups (seconds), ``cpu_percent``
    the process CPU time over the same span; both None until measured."""

    __slots__ = ("_cpu", "_lags", "interval", "last_lag")

    def __init__(self, interval: float = 0.25, window: int = 20) -> None:
        self.interval = interval
        self.last_lag: float | None = None
        self._lags: deque[float] = deque(maxlen=window)
        self._cpu: deque[tuple[float, float]] = deque(maxlen=window + 1)

    @property
    def lag(self) -> float | None:
        return max(self._lags) if self._lags else None

    @property
    def cpu_percent(self) -> float | None:
        if len(self._cpu) < 2:
            return None
        (t0, c0), (t1, c1) = self._cpu[0], self._cpu[-1]
        return (c1 - c0) / (t1 - t0) * 100.0 if t1 > t0 else None

    def sample(self, lag: float) -> None:
        """Record one wake-up that came ``lag`` seconds late."""
        self.last_lag = lag
        self._lags.append(lag)
        self._cpu.append((time.monotonic(), time.process_time()))

    async def run(self) -> None:
        """Measure until cancelled."""
        self._cpu.append((time.monotonic(), time.process_time()))
        while True:
            due = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            self.sample(max(time.monotonic() - due, 0.0))
