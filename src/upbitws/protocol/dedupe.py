"""Trade de-duplication by ``(code, sequential_id)`` with bounded memory (protocol §11).

``sequential_id`` is Upbit's unique trade id, but it does **not** order trades (§11.2): the
only safe use is "have I delivered this one already?". The same trade can reach a client
more than once:

* the SNAPSHOT after every (re)subscription replays the latest trade (§11.3), usually one
  the client already has;
* 0–2 frames of the old subscription may still arrive after a replacement (§11.6);
* a REST backfill overlaps what was delivered before the gap and what arrives live after
  it (issue 6).

**The bound.** Each code remembers its last ``window`` ids (default 4096) in a set (lookup)
plus a ring (eviction order). An id can only be suppressed while it is in the window, so
the window must exceed the number of trades of that code recorded between an id's first
delivery and its replay. Every replay above happens at the *live edge*: a snapshot replays
the newest trade, stale frames are at most 2 frames old, and a backfill is recorded in
timestamp order, so the ids it shares with live frames (the newest REST trades, or the
trades at the millisecond of the last delivery) are the most recently recorded. The
largest replay distance is therefore about one REST page (500 trades) plus a few frames;
4096 is 8 pages of margin, i.e. over a minute of KRW-BTC at its busiest. Memory is
``window`` ints per code (about 0.3 MB at 4096), never growing with time.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from upbitws.exceptions import ConfigurationError

__all__ = ["DEFAULT_WINDOW", "TradeDeduper"]

#: Ids remembered per code (see the module docstring for why this covers every replay).
DEFAULT_WINDOW: Final = 4096


class _Window:
    __slots__ = ("ids", "ring")

    def __init__(self, size: int) -> None:
        self.ids: set[int] = set()
        self.ring: deque[int] = deque(maxlen=size)


class TradeDeduper:
    """Remembers the last ``window`` trade ids per code; :meth:`seen` records new ones."""

    __slots__ = ("_codes", "window")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ConfigurationError(f"dedupe window must be an int >= 1, got {window!r}")
        self.window = window
        self._codes: dict[str, _Window] = {}

    def seen(self, code: str, sequential_id: int) -> bool:
        """``True`` if ``(code, sequential_id)`` was recorded (a duplicate); else record it."""
        win = self._codes.get(code)
        if win is None:
            win = self._codes[code] = _Window(self.window)
        ids = win.ids
        if sequential_id in ids:
            return True
        ring = win.ring
        if len(ring) == self.window:
            ids.discard(ring[0])  # the append below pushes it out of the ring
        ring.append(sequential_id)
        ids.add(sequential_id)
        return False

    def __contains__(self, key: tuple[str, int]) -> bool:
        """``(code, sequential_id) in deduper``: a check that records nothing."""
        win = self._codes.get(key[0])
        return win is not None and key[1] in win.ids

    def size(self, code: str) -> int:
        """How many ids of ``code`` are remembered (at most ``window``)."""
        win = self._codes.get(code)
        return 0 if win is None else len(win.ring)

    def forget(self, code: str) -> None:
        """Drop everything remembered for ``code`` (it is no longer subscribed)."""
        self._codes.pop(code, None)
