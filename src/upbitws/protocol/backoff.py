"""Reconnect backoff that cannot storm (architecture §2.3, protocol §7).

Capped exponential backoff with *full jitter*: the n-th consecutive failure waits
``rng() * min(maximum, initial * multiplier**n)`` seconds.

Two rules keep a misbehaving server from turning the client into a reconnect storm:

* The failure count is reset only after a connection stayed up for ``stable_after``
  seconds, never on a successful handshake. A server that accepts the upgrade and closes
  at once would otherwise reset the count on every cycle and be hammered with
  near-zero delays (a client that resets its retry count inside its connect call also
  makes its retry limit limit nothing).
* HTTP 429 / 418 (protocol §7) mean "wait at least this long": the caller passes the
  server's ``Retry-After`` (or a longer default for 418) and the delay is never shorter.

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

__all__ = ["Backoff", "BackoffPolicy"]


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait between reconnect attempts.

    ``initial``: ceiling of the first delay (seconds); ``maximum``: cap on any ceiling;
    ``multiplier``: growth of the ceiling per consecutive failure; ``stable_after``: how
    long a connection must last before the failure count resets; ``max_retries``:
    consecutive failures allowed before giving up (``None`` retries forever).
    """

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    stable_after: float = 30.0
    max_retries: int | None = None

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


class Backoff:
    """Backoff state for one stream, across all its connections.

    Driver protocol::

        delay = backoff.next_delay(retry_after(exc))   # after each failed attempt / drop
        if backoff.exhausted: raise RetriesExhaustedError(...) from exc
        backoff.connected(now)                          # upgrade done
        backoff.disconnected(now)                       # connection ended, for any reason

    ``attempt`` counts consecutive failures; a connection that lasted less than
    ``stable_after`` is a failure too, so ``max_retries`` counts across drop/reconnect
    cycles.
    """

    __slots__ = ("_connected_at", "_rng", "attempt", "policy")

    def __init__(self, policy: BackoffPolicy, rng: Callable[[], float]) -> None:
        self.policy = policy
        self._rng = rng
        self.attempt = 0
        self._connected_at: float | None = None

    @property
    def exhausted(self) -> bool:
        """True once ``max_retries`` consecutive failures have been counted."""
        limit = self.policy.max_retries
        return limit is not None and self.attempt >= limit

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt; counts one more failure.

        ``retry_after`` (from 429 / 418, protocol §7) is a floor on the delay.
        """
        # Clamp so a sloppy rng cannot produce a negative or over-cap delay.
        r = min(max(self._rng(), 0.0), 1.0)
        delay = r * self.policy.ceiling(self.attempt)
        self.attempt += 1
        if retry_after is not None and retry_after > delay:
            return float(retry_after)
        return delay

    def connected(self, now: float) -> None:
        """The upgrade succeeded at ``now``; this alone does not reset the count."""
        self._connected_at = now

    def disconnected(self, now: float) -> bool:
        """The connection ended at ``now``; returns True when it reset the failure count.

        Only a connection that lasted ``stable_after`` seconds resets it (architecture §2.3).
        """
        started, self._connected_at = self._connected_at, None
        if started is not None and now - started >= self.policy.stable_after:
            self.attempt = 0
            return True
        return False

    def reset(self) -> None:
        """Forget all failures (for example after the user explicitly reconnects)."""
        self.attempt = 0
        self._connected_at = None
