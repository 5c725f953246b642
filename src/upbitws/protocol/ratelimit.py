"""Client-side sliding-window rate limiter (protocol §7).

Upbit's limits (protocol §7, rate-limits page):

* ``websocket-message``: 5 per second **and** 100 per minute, per connection, every
  request message included -> ``SlidingWindowLimiter(MESSAGE_WINDOWS)``, one per
  connection (a new connection starts with a fresh budget).
* ``websocket-connect``: 5 per second per IP / pocket ->
  ``SlidingWindowLimiter(CONNECT_WINDOWS)``, shared by every connection of a client.

WebSocket gives no ``Remaining-Req`` per message, so the only safe strategy is never to
exceed the window ourselves. ``margin`` widens every window a little so that clock skew
between us and the server cannot put a 6th event inside the server's 1-s window.

Sans-I/O: ``now`` is monotonic seconds supplied by the caller. Memory is bounded by the
largest window count: only that many recent event times are kept.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from upbitws.exceptions import ConfigurationError

__all__ = ["CONNECT_WINDOWS", "MESSAGE_WINDOWS", "SlidingWindowLimiter"]

#: ``websocket-message``: 5/s and 100/min per connection (protocol §7).
MESSAGE_WINDOWS: tuple[tuple[int, float], ...] = ((5, 1.0), (100, 60.0))
#: ``websocket-connect``: 5/s per IP or pocket (protocol §7).
CONNECT_WINDOWS: tuple[tuple[int, float], ...] = ((5, 1.0),)

# Waits shorter than this are rounding noise (``now + delay(now)`` need not land exactly on
# the boundary); treating them as 0 avoids a useless sub-nanosecond sleep. ``margin``
# dwarfs it.
_EPSILON = 1e-9


class SlidingWindowLimiter:
    """At most ``count`` events in any ``period`` seconds, for every ``(count, period)``.

    ``delay(now)`` says how long to wait before one more event is allowed;
    ``record(now)`` counts an event that happened (call it when the frame is sent).
    """

    __slots__ = ("_events", "_windows", "margin")

    def __init__(self, windows: Sequence[tuple[int, float]], *, margin: float = 0.05) -> None:
        if not windows:
            raise ConfigurationError("a rate limiter needs at least one (count, period) window")
        checked: list[tuple[int, float]] = []
        for window in windows:
            count, period = window
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigurationError(f"window count must be an int >= 1, got {count!r}")
            if not isinstance(period, int | float) or not math.isfinite(period) or period <= 0:
                raise ConfigurationError(
                    f"window period must be a finite number > 0, got {period!r}"
                )
            checked.append((count, float(period)))
        if not isinstance(margin, int | float) or not math.isfinite(margin) or margin < 0:
            raise ConfigurationError(f"margin must be a finite number >= 0, got {margin!r}")
        self._windows = tuple(checked)
        self.margin = float(margin)
        self._events: deque[float] = deque(maxlen=max(count for count, _ in checked))

    @property
    def windows(self) -> tuple[tuple[int, float], ...]:
        return self._windows

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until one more event fits every window (0.0 if it fits now)."""
        events = self._events
        size = len(events)
        wait = 0.0
        for count, period in self._windows:
            if size >= count:
                # The count-th most recent event must have left the (widened) window.
                wait = max(wait, events[-count] + period + self.margin - now)
        return wait if wait > _EPSILON else 0.0

    def record(self, now: float) -> None:
        """Count one event at ``now`` (the oldest beyond the largest window is dropped)."""
        self._events.append(now)

    def clear(self) -> None:
        """Forget every recorded event (a fresh budget)."""
        self._events.clear()
