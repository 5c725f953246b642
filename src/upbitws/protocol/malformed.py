"""How loudly to report skipped frames: rate-limited logs and gap announcements (sans-I/O).

A hostile or broken server can send malformed frames as fast as the socket carries them
(60,000 in 8 s were measured as 60,000 WARNING lines, 8 MB). :class:`SkipReporter` decides,
with ``now`` as input:

* **Log lines.** The first ``first`` skipped frames of a window are logged one by one (with
  the reason), then one line says the rest are counted; when a frame is skipped after the
  window (``every`` seconds) ended, one summary line gives the count of the frames not
  logged in it, and a new window starts. The summary comes with the next skipped frame, so a
  flood that stops is summed up by ``stream.stats()`` (``decode_errors``, ``frame_errors``),
  not by a timer.
* **Gap announcements** of types whose loss cannot be repaired (everything but trades with
  backfill): each ``(type, code)`` is announced at most once per ``every`` seconds, so a
  flood cannot grow the consumer's event queue (events are never dropped). Trade gaps are
  not limited here: each one starts a backfill (client/recovery.py merges them per code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["LogDecision", "SkipReporter"]

#: Skipped frames logged one by one per window.
FIRST: Final = 5
#: Seconds per window (summary lines, gap announcements).
EVERY: Final = 60.0


@dataclass(frozen=True, slots=True)
class LogDecision:
    """What to log for one skipped frame.

    ``summary``: frames skipped without a line of their own in the window that just ended
    (``0``: no summary), over ``window`` seconds. ``detail``: log this frame with its reason.
    ``quiet``: this frame starts the quiet part of the window (say that further frames are
    only counted)."""

    summary: int
    window: float
    detail: bool
    quiet: bool


class SkipReporter:
    """Rate limits for reporting skipped frames (see the module docstring)."""

    __slots__ = ("_announced", "_logged", "_start", "_suppressed", "every", "first")

    def __init__(self, *, first: int = FIRST, every: float = EVERY) -> None:
        if first < 0 or every <= 0:
            raise ValueError("first must be >= 0 and every > 0")
        self.first = first
        self.every = every
        self._start: float | None = None
        self._logged = 0
        self._suppressed = 0
        self._announced: dict[tuple[str, str], float] = {}

    def skipped(self, now: float) -> LogDecision:
        """A frame was skipped at ``now`` (monotonic seconds): what to log."""
        summary, window = 0, 0.0
        start = self._start
        if start is None or now - start >= self.every:
            if start is not None and self._suppressed:
                summary, window = self._suppressed, now - start
            self._start = now
            self._logged = self._suppressed = 0
            self._prune(now)
        if self._logged < self.first:
            self._logged += 1
            return LogDecision(summary, window, True, False)
        self._suppressed += 1
        return LogDecision(summary, window, False, self._suppressed == 1)

    def announce(self, key: tuple[str, str], now: float) -> bool:
        """Whether to announce a gap for ``key`` now (at most once per ``every`` seconds)."""
        last = self._announced.get(key)
        if last is not None and now - last < self.every:
            return False
        self._announced[key] = now
        return True

    def _prune(self, now: float) -> None:
        """Forget announcements older than a window (keys of old subscriptions included)."""
        every = self.every
        stale = [key for key, at in self._announced.items() if now - at >= every]
        for key in stale:
            del self._announced[key]
