"""Per-key one-window counters for the connect and REST limits (protocol §7, §10), and the
server-wide budget of queued send bytes.

Per-connection message limits (two windows) use ``upbitws.protocol.ratelimit``; these keyed
counters also report what is left, for the ``Remaining-Req`` header.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

__all__ = ["BudgetMember", "Escalation", "KeyedWindow", "SendBudget"]


class BudgetMember(Protocol):
    """A connection whose send queue counts against a :class:`SendBudget`."""

    @property
    def queued_bytes(self) -> int:
        """Bytes this connection has queued and not yet handed to the transport."""
        ...

    def cut_slow_consumer(self, reason: str) -> None:
        """Drop the connection as a slow consumer (releases its queued bytes at once)."""


class SendBudget:
    """Queued send bytes over every connection, bounded by ``limit``.

    Each connection's queue is already bounded (``max_queue_bytes``); this bounds the sum, so
    many stuck consumers cannot together exhaust memory. When a charge takes the total over
    ``limit``, the connection with the largest queue is cut (one stuck consumer, not the fast
    ones whose queues are near empty), repeatedly until the total fits.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.total = 0
        self.cuts = 0
        self._members: set[BudgetMember] = set()

    def join(self, member: BudgetMember) -> None:
        self._members.add(member)

    def leave(self, member: BudgetMember) -> None:
        self._members.discard(member)

    def release(self, size: int) -> None:
        self.total -= size

    def charge(self, size: int) -> None:
        """Count ``size`` more queued bytes; cut the largest queues while over the limit."""
        self.total += size
        if self.limit is None:
            return
        while self.total > self.limit and self._members:
            largest = max(self._members, key=lambda m: m.queued_bytes)
            if largest.queued_bytes <= 0:
                return
            self.cuts += 1
            self._members.discard(largest)
            largest.cut_slow_consumer("send budget")


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


class Escalation:
    """Upbit's answer to repeated 429s: a block (HTTP 418) that grows with repetition (§7).

    After ``after`` 429s for one key within ``window`` seconds, the key is blocked for
    ``base`` seconds; each further block of the same key doubles, up to ``maximum``. While
    blocked every attempt is refused (and does not count again). Time is an input (``now``).
    """

    def __init__(
        self,
        after: int,
        window: float = 60.0,
        base: float = 10.0,
        maximum: float = 3600.0,
        *,
        max_keys: int = 10_000,
    ) -> None:
        self.after = after
        self.window = window
        self.base = base
        self.maximum = maximum
        self._max_keys = max_keys
        self._recent: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}
        self._blocks: dict[str, int] = {}

    def blocked_for(self, key: str, now: float) -> float:
        """Seconds ``key`` stays blocked (0: not blocked)."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._until[key]
            return 0.0
        return until - now

    def record_429(self, key: str, now: float) -> float:
        """Count one 429 for ``key``; the block it starts in seconds, or 0."""
        if len(self._recent) >= self._max_keys and key not in self._recent:
            self._recent = {
                k: q for k, q in self._recent.items() if q and q[-1] > now - self.window
            }
            if len(self._blocks) >= self._max_keys:
                self._blocks.clear()
        recent = self._recent.setdefault(key, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) < self.after:
            return 0.0
        recent.clear()
        count = self._blocks.get(key, 0) + 1
        self._blocks[key] = count
        seconds: float = min(self.maximum, self.base * 2.0 ** min(count - 1, 60))
        self._until[key] = now + seconds
        return seconds
