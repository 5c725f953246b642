"""One connect budget per process, shared by every stream (protocol §7 ``websocket-connect``).

Upbit allows 5 WebSocket upgrades per second per IP (public) or per account "pocket"
(private, counted per access key). A limiter per stream does not keep that promise: fifty
streams in one process each believe they may open five connections a second and draw HTTP
429s (then 418 blocks) together. Every upgrade therefore first awaits
``budget.acquire(key)`` on one budget shared by the process:

* ``key`` is the host (``host:port`` when a port is given) for public connections, and the
  host plus a non-secret fingerprint of the access key for private ones
  (:func:`upbitws.protocol.endpoints.budget_key`);
* :func:`default_budget` is created lazily on first use (no import-time state) and used by
  every stream unless ``connect(..., connect_budget=...)`` passes another, e.g. a
  Redis-backed budget shared by several processes on one IP.

:class:`LocalConnectBudget` is fair (first come, first served: each caller *reserves* the
next free slot of the sliding window, then sleeps until it) and loop-safe (a thread lock
guards the windows, never held across an ``await``), so streams on different event loops
or threads (``upbitws.sync``) share it too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from upbitws.protocol.ratelimit import CONNECT_WINDOWS, SlidingWindowLimiter

__all__ = ["CONNECT_MARGIN", "ConnectBudget", "LocalConnectBudget", "default_budget"]

#: Seconds added to every connect window. A slot is booked when the upgrade is *allowed*;
#: the server counts it when the request *arrives*, after the TCP (and TLS) handshake. A busy
#: loop delays some arrivals more than others; with the limiter's default 0.05 s, 50 streams
#: in one process still drew 4 HTTP 429s from a 5/s server, with 0.25 s none.
CONNECT_MARGIN = 0.25


class ConnectBudget(Protocol):
    async def acquire(self, key: str) -> None:
        """Wait until one more WebSocket upgrade to ``key`` may start."""


class LocalConnectBudget:
    """A sliding-window connect budget per key for this process (default 5 per second).

    ``reserve(key, now)`` is the decision (sans-sleep, exact on a fake clock): it books the
    earliest slot that fits every window after all earlier bookings and returns it.
    """

    def __init__(
        self,
        windows: Sequence[tuple[int, float]] = CONNECT_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = CONNECT_MARGIN,
        max_keys: int = 10_000,
    ) -> None:
        SlidingWindowLimiter(windows, margin=margin)  # validates now, not on first use
        self._windows = tuple(windows)
        self._margin = margin
        self._clock = clock
        self._max_keys = max_keys
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, now: float) -> float:
        """Book one upgrade to ``key``; return the (monotonic) time it may start."""
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                if len(self._limiters) >= self._max_keys:
                    self._forget_idle(now)
                limiter = SlidingWindowLimiter(self._windows, margin=self._margin)
                self._limiters[key] = limiter
            at = now + limiter.delay(now)
            limiter.record(at)  # a booking: later callers queue behind it (fair, FIFO)
            return at

    def _forget_idle(self, now: float) -> None:
        # Keys are hosts and accounts, a handful in practice; bound them anyway.
        longest = max(period for _, period in self._windows)
        for key, limiter in list(self._limiters.items()):
            if limiter.delay(now + longest + limiter.margin) == 0.0:
                del self._limiters[key]

    async def acquire(self, key: str) -> None:
        """Wait until one more WebSocket upgrade to ``key`` may start."""
        now = self._clock()
        wait = self.reserve(key, now) - now
        if wait > 0:
            await asyncio.sleep(wait)

    def __repr__(self) -> str:
        return f"<LocalConnectBudget windows={self._windows} keys={len(self._limiters)}>"


_default: LocalConnectBudget | None = None
_default_lock = threading.Lock()


def default_budget() -> LocalConnectBudget:
    """The process-wide budget every stream uses unless given another (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LocalConnectBudget()
        return _default
