"""The reader's guards: which messages a connection keeps, and what a skipped frame costs.

Two helpers of ``Connection._handle_frame`` (docs/hostile-input.md):

* :class:`FrameFilter`: a message whose ``(type, code)`` is not in the connection's desired
  subscription set is dropped and counted (``unsubscribed_dropped``), never buffered or kept
  in ``stream.state``: a server that pushes codes nobody asked for cannot grow memory.
  Precomputed per message class when the desired set changes, so the hot path pays one
  dict lookup per message (which it paid before for the type name) and one set lookup.
* :class:`SkippedFrames`: a frame that failed to decode, or whose handling raised, is
  skipped, counted, logged under a rate limit, and announced as a gap for what it carried
  (read tolerantly by :func:`upbitws.protocol.peek.peek`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from upbitws.protocol.malformed import SkipReporter
from upbitws.protocol.peek import PeekedKey, peek

if TYPE_CHECKING:
    import logging

    from upbitws.client.recovery import TradeRecovery
    from upbitws.client.stats import StreamCounters
    from upbitws.protocol.subscriptions import SubscriptionSet

__all__ = ["UNKNOWN", "FrameFilter", "Route", "SkippedFrames"]

#: ``GapDetected.type`` / ``.code`` of a skipped frame whose type or code could not be read.
UNKNOWN: Final = "unknown"
#: ``(type name, codes kept)``; codes ``None``: every code (code-less types, myOrder for
#: every market).
Route = tuple[str, frozenset[str] | None]
_NO_CODES: Final[frozenset[str]] = frozenset()


class FrameFilter:
    """What the desired subscription set lets through, per message class."""

    __slots__ = ("_codes", "_desired", "routes")

    def __init__(self, desired: Callable[[], SubscriptionSet]) -> None:
        self._desired = desired
        self._codes: dict[str, frozenset[str] | None] | None = None
        #: message class → route; the reader reads it directly (hot path).
        self.routes: dict[type, Route] = {}

    def refresh(self) -> None:
        """The desired set changed: routes are rebuilt as messages arrive. Messages of a code
        just unsubscribed that are still in flight are dropped from here on; those already
        queued for the consumer stay queued."""
        self.routes.clear()
        self._codes = None

    def codes(self) -> dict[str, frozenset[str] | None]:
        """Subscribed codes per wire type (``None``: every code)."""
        codes = self._codes
        if codes is None:
            by_type: dict[str, set[str] | None] = {}
            subscribed = self._desired().keys()  # (type, code) pairs, not Subscriptions
            for type_, code in subscribed:
                # Keys hold plain codes: an orderbook's depth suffix is an option, and a
                # message's ``code`` never carries it (protocol §3.4, §4.4).
                if not code:  # myAsset, announcement, myOrder for every market
                    by_type[type_] = None
                elif (known := by_type.setdefault(type_, set())) is not None:
                    known.add(code)
            codes = self._codes = {
                t: None if c is None else frozenset(c) for t, c in by_type.items()
            }
        return codes

    def route(self, cls: type, name: str) -> Route | None:
        """How messages of ``cls`` (wire type ``name``) pass; ``None`` drops them all (a
        code-less type not subscribed; not cached, such messages are rare)."""
        codes = self.codes()
        if name in codes:
            route: Route = (name, codes[name])
        elif "code" in getattr(cls, "__struct_fields__", ()):
            route = (name, _NO_CODES)
        else:
            return None
        self.routes[cls] = route
        return route

    def gap_keys(self, keys: tuple[PeekedKey, ...]) -> list[tuple[str, str]]:
        """The subscribed ``(type, code)`` pairs a skipped frame may have carried.

        Keys naming nothing subscribed give nothing (they were not wanted); unreadable
        types or codes become :data:`UNKNOWN`, never a value from the frame that is not
        subscribed (a hostile frame cannot mint gap keys without bound)."""
        if not keys:
            return [(UNKNOWN, UNKNOWN)]
        codes = self.codes()
        out: dict[tuple[str, str], None] = {}
        for key in keys:
            if key.control:
                continue  # a status / error / list reply carries no market data
            type_, code = key.type, key.code
            if type_ is None:
                out[UNKNOWN, UNKNOWN] = None
            elif type_ in codes:
                kept = codes[type_]
                if kept is None:
                    out[type_, ""] = None
                elif code is None:
                    out[type_, UNKNOWN] = None
                elif code in kept:
                    out[type_, code] = None
        return list(out)


class SkippedFrames:
    """Counts, logs (rate-limited) and announces the frames a connection had to skip."""

    __slots__ = ("_counters", "_endpoint", "_filter", "_log", "_recovery", "reporter")

    def __init__(
        self,
        endpoint: str,
        *,
        counters: StreamCounters,
        recovery: TradeRecovery,
        frame_filter: FrameFilter,
        log: logging.Logger,
        reporter: SkipReporter | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._counters = counters
        self._recovery = recovery
        self._filter = frame_filter
        self._log = log
        self.reporter = reporter if reporter is not None else SkipReporter()

    def skipped(self, data: bytes | str, error: Exception, *, decoded: bool) -> None:
        """``data`` was skipped: it failed to decode (``decoded=False``) or its handling
        raised ``error`` after decoding. Never raises for any frame."""
        counters = self._counters
        if decoded:
            counters.frame_errors += 1
        else:
            counters.decode_errors += 1
        now = time.monotonic()
        keys = peek(data)
        self._report(error, keys, decoded, now)
        reporter, recovery = self.reporter, self._recovery
        cause = "frame" if decoded else "decode"
        at = time.time()
        for type_, code in self._filter.gap_keys(keys):
            if recovery.backfills(type_, code) or reporter.announce((type_, code), now):
                recovery.frame_skipped(self._endpoint, type_, code, cause, at)

    def _report(
        self, error: Exception, keys: tuple[PeekedKey, ...], decoded: bool, now: float
    ) -> None:
        decision = self.reporter.skipped(now)
        log, endpoint = self._log, self._endpoint
        if decision.summary:
            log.warning(
                "%s: skipped %d more malformed frame(s) in the last %.0f s "
                "(stream.stats(): decode_errors, frame_errors)",
                endpoint,
                decision.summary,
                decision.window,
            )
        if decision.detail:
            if decoded:  # a bug or a value no check anticipated: the traceback helps
                shown = [(k.type, k.code) for k in keys[:4]]
                log.warning(
                    "%s: skipped a frame %s whose handling failed: %s: %s",
                    endpoint,
                    shown,
                    type(error).__name__,
                    error,
                    exc_info=error,
                )
            else:
                log.warning("%s: skipped a malformed frame: %s", endpoint, error)
        elif decision.quiet:
            log.warning(
                "%s: more malformed frames: counting them, one summary line per %.0f s",
                endpoint,
                self.reporter.every,
            )
