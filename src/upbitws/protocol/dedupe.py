"""Trade de-duplication by ``(code, sequential_id)`` with bounded memory (protocol §11).

``sequential_id`` is Upbit's unique trade id, but it does **not** order trades (§11.2): the
only safe use is "have I delivered this one already?". The same trade can reach a client
more than once:

* the SNAPSHOT after every (re)subscription replays the latest trade (§11.3), usually one
  the client already has;
* 0–2 frames of the old subscription may still arrive after a replacement (§11.6);
* a REST backfill overlaps what was delivered before the gap and what arrives live after
  it (trade backfill).

**The bound.** Each code remembers its recent ids in two generations of sets: new ids go
into the current one; when it holds ``window / 2`` ids it becomes the previous one and the
one before is dropped. So at least the last ``window / 2`` ids (2048 by default) and at
most ``window`` (4096) are remembered, and no set ever carries deleted entries (a set with
eviction churn keeps a table several times its size). An id can only be suppressed while it
is remembered, so ``window / 2`` must exceed the number of trades of that code recorded
between an id's first delivery and its replay. Every replay above happens at the *live
edge*: a snapshot replays the newest trade, stale frames are at most 2 frames old, and a
backfill is recorded in timestamp order, so the ids it shares with live frames (the newest
REST rows, or those at the millisecond of the last delivery) are the most recently
recorded. The largest replay distance is therefore about one REST page (500 trades) plus a
few frames; 2048 is 4 pages of margin, about a minute of a market trading 30 times a
second. Memory is
at most ``window`` ints plus two set tables per code: about 0.26 MB at 4096, measured, and
never growing with time.
"""

from __future__ import annotations

from typing import Final

from upbitws.exceptions import ConfigurationError

__all__ = ["DEFAULT_WINDOW", "TradeDeduper"]

#: At most this many ids are remembered per code, at least half of it (see the docstring).
DEFAULT_WINDOW: Final = 4096


class _Window:
    __slots__ = ("current", "previous")

    def __init__(self) -> None:
        self.current: set[int] = set()
        self.previous: set[int] = set()


class TradeDeduper:
    """Remembers recent trade ids per code; :meth:`seen` records new ones."""

    __slots__ = ("_codes", "_half", "window")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise ConfigurationError(f"dedupe window must be an int >= 2, got {window!r}")
        self.window = window
        self._half = window // 2
        self._codes: dict[str, _Window] = {}

    def seen(self, code: str, sequential_id: int) -> bool:
        """``True`` if ``(code, sequential_id)`` was recorded (a duplicate); else record it."""
        win = self._codes.get(code)
        if win is None:
            win = self._codes[code] = _Window()
        current = win.current
        if sequential_id in current or sequential_id in win.previous:
            return True
        if len(current) >= self._half:  # a new generation; the oldest is forgotten
            win.previous = current
            current = win.current = set()
        current.add(sequential_id)
        return False

    def __contains__(self, key: tuple[str, int]) -> bool:
        """``(code, sequential_id) in deduper``: a check that records nothing."""
        win = self._codes.get(key[0])
        return win is not None and (key[1] in win.current or key[1] in win.previous)

    def size(self, code: str) -> int:
        """How many ids of ``code`` are remembered (at most ``window``)."""
        win = self._codes.get(code)
        return 0 if win is None else len(win.current) + len(win.previous)

    def forget(self, code: str) -> None:
        """Drop everything remembered for ``code``."""
        self._codes.pop(code, None)
