"""Reconnect backoff that cannot storm (architecture §2.3, protocol §7).

Capped exponential backoff with *full jitter*: the n-th consecutive failure waits
``rng() * min(maximum, initial * multiplier**n)`` seconds.

Two rules keep a misbehaving server from turning the client into a reconnect storm:

* Backoff counts *failures*, not drops. The failure count is reset only by a connection
  that delivered data for ``productive_after`` seconds, or stayed up for ``stable_after``
  seconds, never by a successful handshake. A server that accepts the upgrade and closes
  at once (or accepts and sends nothing) would otherwise reset the count on every cycle
  and be hammered with near-zero delays (a client that resets its retry count inside its
  connect call also makes its retry limit limit nothing). A path that flaps after minutes
  of good data, on the other hand, is retried fast once it heals.
* HTTP 429 / 418 (protocol §7) mean "wait at least this long": the caller passes the
  server's ``Retry-After`` (or the 418 block time) and the delay is never shorter. Jitter
  goes on top (``1 s + 10 %``) so that many streams refused together do not come back in
  lockstep; a wait above ``retry_after_cap`` is capped and flagged so the caller reports it.
* A run of failures is never silent: :meth:`Backoff.failed` flags the first failure of a
  run and backoffs at the cap (at most one per ``max(maximum, 5 s)``) for a WARNING.

Full jitter can draw a delay near zero; the connect-rate limiter
(``ratelimit.SlidingWindowLimiter([(5, 1.0)])``, protocol §7 ``websocket-connect``) is
the hard floor under that.

Sans-I/O: time comes in as ``now`` (monotonic seconds) and randomness through an
injected ``rng`` returning a float in [0, 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from upbitws.exceptions import ConfigurationError

__all__ = ["RETRY_AFTER_JITTER", "Backoff", "BackoffPolicy", "Retry"]

#: Jitter on top of a server-requested wait: up to ``base + share * wait`` seconds.
RETRY_AFTER_JITTER: tuple[float, float] = (1.0, 0.1)
#: Minimum seconds between two WARNING-level backoffs at the cap.
_WARN_FLOOR = 5.0


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait between reconnect attempts.

    ``initial``: ceiling of the first delay (seconds); ``maximum``: cap on any ceiling;
    ``multiplier``: growth of the ceiling per consecutive failure; ``stable_after``: how
    long a connection must last before the failure count resets; ``productive_after``: a
    connection whose data kept arriving this long after the upgrade resets it too;
    ``max_retries``: consecutive failures allowed before giving up (``None`` retries
    forever); ``retry_after_cap``: the longest server-requested wait (Retry-After, 418
    block time) honoured, longer ones are capped and reported.
    """

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    stable_after: float = 30.0
    max_retries: int | None = None
    productive_after: float = 5.0
    retry_after_cap: float = 600.0

    def __post_init__(self) -> None:
        if not _finite(self.initial) or self.initial <= 0:
            raise ConfigurationError(
                f"backoff initial must be a finite number > 0, got {self.initial!r}"
            )
        if not _finite(self.maximum) or self.maximum < self.initial:
            raise ConfigurationError(
                f"backoff maximum must be a finite number >= initial ({self.initial!r}), "
                f"got {self.maximum!r}"
            )
        if not _finite(self.multiplier) or self.multiplier < 1:
            raise ConfigurationError(
                f"backoff multiplier must be a finite number >= 1, got {self.multiplier!r}"
            )
        if not _finite(self.stable_after) or self.stable_after < 0:
            raise ConfigurationError(
                f"backoff stable_after must be a finite number >= 0, got {self.stable_after!r}"
            )
        if not _finite(self.productive_after) or self.productive_after < 0:
            raise ConfigurationError(
                "backoff productive_after must be a finite number >= 0, "
                f"got {self.productive_after!r}"
            )
        if not _finite(self.retry_after_cap) or self.retry_after_cap <= 0:
            raise ConfigurationError(
                f"retry_after_cap must be a finite number > 0, got {self.retry_after_cap!r}"
            )
        if self.max_retries is not None and (
            not isinstance(self.max_retries, int)
            or isinstance(self.max_retries, bool)
            or self.max_retries < 0
        ):
            raise ConfigurationError(
                f"max_retries must be None or an int >= 0, got {self.max_retries!r}"
            )

    def ceiling(self, attempt: int) -> float:
        """The largest delay the ``attempt``-th consecutive failure (0-based) can draw."""
        try:
            grown = self.initial * self.multiplier**attempt
        except OverflowError:
            return self.maximum
        return min(self.maximum, grown)


@dataclass(frozen=True, slots=True)
class Retry:
    """What :meth:`Backoff.failed` decided about one failure."""

    #: Seconds to wait before the next attempt.
    delay: float
    #: Consecutive failures counted so far (1: the first of a run).
    attempt: int
    #: The jitter ceiling has reached ``maximum``.
    at_cap: bool
    #: The server's requested wait before capping (None: none asked).
    asked: float | None
    #: ``asked`` exceeded ``retry_after_cap`` and was capped.
    capped: bool
    #: Log this failure at WARNING (first of a run, or at the cap, rate-limited).
    warn: bool


class Backoff:
    """Backoff state for one stream, across all its connections.

    Driver protocol::

        retry = backoff.failed(now, retry_after(exc))   # after each failed attempt / drop
        if backoff.exhausted: raise RetriesExhaustedError(...) from exc
        backoff.connected(now)                           # upgrade done
        backoff.disconnected(now, last_data)             # connection ended, for any reason

    ``attempt`` counts consecutive failures; a connection that neither delivered data for
    ``productive_after`` seconds nor lasted ``stable_after`` is a failure too, so
    ``max_retries`` counts across drop/reconnect cycles.
    """

    __slots__ = ("_connected_at", "_rng", "_warned_at", "attempt", "policy")

    def __init__(self, policy: BackoffPolicy, rng: Callable[[], float]) -> None:
        self.policy = policy
        self._rng = rng
        self.attempt = 0
        self._connected_at: float | None = None
        self._warned_at: float | None = None

    def _draw(self) -> float:
        # Clamp so a sloppy rng cannot produce a negative or over-cap delay.
        return min(max(self._rng(), 0.0), 1.0)

    def failed(self, now: float, retry_after: float | None = None) -> Retry:
        """Count one more failure at ``now``; decide the wait and whether to warn.

        The wait is full jitter under the ceiling; a server-requested ``retry_after``
        (429 / 418, protocol §7) is a floor, capped at ``retry_after_cap``, with jitter on
        top so refused streams do not return in lockstep.
        """
        policy = self.policy
        ceiling = policy.ceiling(self.attempt)
        at_cap = ceiling >= policy.maximum
        delay = self._draw() * ceiling
        self.attempt += 1
        capped = False
        if retry_after is not None:
            wait = retry_after
            if wait > policy.retry_after_cap:
                wait, capped = policy.retry_after_cap, True
            base, share = RETRY_AFTER_JITTER
            delay = max(delay, wait + self._draw() * (base + share * wait))
        warned = self._warned_at  # the last WARNING at the cap in this run
        quiet = max(policy.maximum, _WARN_FLOOR)
        cap_warn = at_cap and (warned is None or now - warned >= quiet)
        if cap_warn:
            self._warned_at = now
        warn = self.attempt == 1 or capped or cap_warn
        return Retry(delay, self.attempt, at_cap, retry_after, capped, warn)

    @property
    def exhausted(self) -> bool:
        """True once ``max_retries`` consecutive failures have been counted."""
        limit = self.policy.max_retries
        return limit is not None and self.attempt >= limit

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt; counts one more failure.

        ``retry_after`` (from 429 / 418, protocol §7) is a plain floor on the delay, without
        jitter or cap; the connection uses :meth:`failed`, which adds both.
        """
        delay = self._draw() * self.policy.ceiling(self.attempt)
        self.attempt += 1
        if retry_after is not None and retry_after > delay:
            return float(retry_after)
        return delay

    def connected(self, now: float) -> None:
        """The upgrade succeeded at ``now``; this alone does not reset the count."""
        self._connected_at = now

    def disconnected(self, now: float, last_data: float | None = None) -> bool:
        """The connection ended at ``now``; returns True when it reset the failure count.

        ``last_data`` is when its last data message arrived (None: it delivered none). Only
        a connection that delivered data for ``productive_after`` seconds, or lasted
        ``stable_after`` seconds, resets it (architecture §2.3): a drop after good data is not a
        failure of the path, an accept-then-close or accept-then-silence server is.
        """
        started, self._connected_at = self._connected_at, None
        if started is None:
            return False
        policy = self.policy
        productive = last_data is not None and last_data - started >= policy.productive_after
        if productive or now - started >= policy.stable_after:
            self.attempt = 0
            self._warned_at = None
            return True
        return False

    def reset(self) -> None:
        """Forget all failures (for example after the user explicitly reconnects)."""
        self.attempt = 0
        self._connected_at = None
        self._warned_at = None
