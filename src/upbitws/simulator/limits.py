"""Per-key one-window counters for the connect and REST limits (protocol §7, §10).

Per-connection message limits (two windows) use ``upbitws.protocol.ratelimit``; these keyed
counters also report what is left, for the ``Remaining-Req`` header.
"""

from __future__ import annotations

from collections import deque

__all__ = ["KeyedWindow"]


class KeyedWindow:
    """At most ``limit`` events per ``period`` seconds for each key (an IP, an access key)."""

    def __init__(self, limit: int, period: float = 1.0, *, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.period = period
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._events.get(key)
        if window is None:
            if len(self._events) >= self._max_keys:  # bound memory: forget idle keys
                self._events = {
                    k: w for k, w in self._events.items() if w and w[-1] > now - self.period
                }
            window = self._events[key] = deque()
        while window and window[0] <= now - self.period:
            window.popleft()
        return window

    def admit(self, key: str, now: float) -> tuple[bool, int, float]:
        """Count one event for ``key`` if it fits: ``(admitted, remaining, retry_after)``."""
        window = self._window(key, now)
        if len(window) >= self.limit:
            return False, 0, window[0] + self.period - now
        window.append(now)
        return True, self.limit - len(window), 0.0
