"""Lifecycle events, delivered in order with the data (architecture §2.11: past-tense nouns).

A consumer sees them through callbacks registered with ``Stream.on_event`` (called from the
consumer's own iteration, so in order with the messages around them) or, with
``include_events=True``, as items of the stream's iterator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from upbitws.exceptions import UpbitWSError

__all__ = [
    "AlertRaised",
    "AlertResolved",
    "Connected",
    "Disconnected",
    "ErrorOccurred",
    "GapDetected",
    "GapFilled",
    "GapUnrecoverable",
    "LifecycleEvent",
    "Reconnected",
    "Reconnecting",
]


_KST = timezone(timedelta(hours=9), "KST")


def _kst(at: float) -> str:
    """``13:15:56.123+09:00`` (KST, offset written) for an epoch time: one clock for people."""
    moment = datetime.fromtimestamp(at, tz=UTC).astimezone(_KST)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+09:00"


def _secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:,.1f} s"


@dataclass(frozen=True, slots=True)
class Connected:
    """A connection to ``endpoint`` (``"public"`` / ``"private"``) is open and subscribed."""

    endpoint: str
    url: str
    at: float  # epoch seconds
    attempt: int  # 0 for the first connection

    def __str__(self) -> str:
        again = f" (attempt {self.attempt + 1})" if self.attempt else ""
        return f"{_kst(self.at)} connected {self.endpoint} to {self.url}{again}"


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A connection came back after a drop; the whole subscription set was re-sent."""

    endpoint: str
    url: str
    at: float
    downtime: float  # seconds since the drop

    def __str__(self) -> str:
        return f"{_kst(self.at)} reconnected {self.endpoint} after {_secs(self.downtime)}"


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A connection ended; ``cause`` says why (its class says whether it is retried)."""

    endpoint: str
    cause: UpbitWSError
    at: float

    def __str__(self) -> str:
        return f"{_kst(self.at)} disconnected {self.endpoint}: {self.cause}"


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The next attempt on ``endpoint`` starts after ``delay`` seconds."""

    endpoint: str
    attempt: int
    delay: float
    cause: UpbitWSError

    def __str__(self) -> str:
        return f"reconnecting {self.endpoint} in {_secs(self.delay)} (attempt {self.attempt})"


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """An error; ``fatal`` errors end the stream and are raised from its iterator."""

    endpoint: str
    error: UpbitWSError
    fatal: bool
    at: float

    def __str__(self) -> str:
        kind = "fatal error" if self.fatal else "error"
        name = type(self.error).__name__
        return f"{_kst(self.at)} {kind} on {self.endpoint}: {name}: {self.error}"


@dataclass(frozen=True, slots=True)
class GapDetected:
    """Messages of ``type``/``code`` may be missing from ``since`` (epoch ms) on.

    ``cause`` is ``"reconnect"``, ``"overflow"``, ``"resume"`` (:meth:`Stream.resume_trades`),
    ``"decode"`` (a frame that failed to decode was skipped) or ``"frame"`` (a frame whose
    handling failed was skipped); ``type`` and ``code`` are ``"unknown"`` when the skipped
    frame did not say. For trades a backfill follows when enabled; for types without history
    the next SNAPSHOT heals the state.
    """

    type: str
    code: str
    cause: str
    since: int | None

    def __str__(self) -> str:
        since = "" if self.since is None else f" since {_kst(self.since / 1000)}"
        return f"gap in {self.type} {self.code} ({self.cause}){since}"


@dataclass(frozen=True, slots=True)
class GapFilled:
    """A trade gap was closed: ``recovered`` trades were fetched from REST and delivered."""

    type: str
    code: str
    recovered: int

    def __str__(self) -> str:
        return f"gap in {self.type} {self.code} filled: {self.recovered:,} recovered from REST"


@dataclass(frozen=True, slots=True)
class GapUnrecoverable:
    """A gap that cannot be filled; ``reason`` says why (and whether a snapshot heals it)."""

    type: str
    code: str
    reason: str

    def __str__(self) -> str:
        return f"gap in {self.type} {self.code} not filled: {self.reason}"


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """A built-in alert started firing (docs/operations.md "Alerts"); ``since`` (epoch s) is
    when its condition began, ``value`` what was measured (unit in the alert's name)."""

    name: str
    severity: str  # "critical" or "warning"
    summary: str
    since: float
    value: float | None


@dataclass(frozen=True, slots=True)
class AlertResolved:
    """A firing alert stopped: its condition no longer holds (``at``, epoch s)."""

    name: str
    severity: str
    summary: str
    since: float
    value: float | None
    at: float


LifecycleEvent = (
    Connected
    | Reconnected
    | Disconnected
    | Reconnecting
    | ErrorOccurred
    | GapDetected
    | GapFilled
    | GapUnrecoverable
    | AlertRaised
    | AlertResolved
)
