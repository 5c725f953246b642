"""Lifecycle events, delivered in order with the data (architecture §2.11: past-tense nouns).

A consumer sees them through callbacks registered with ``Stream.on_event`` (called from the
consumer's own iteration, so in order with the messages around them) or, with
``include_events=True``, as items of the stream's iterator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from upbitws.exceptions import UpbitWSError

__all__ = [
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


@dataclass(frozen=True, slots=True)
class Connected:
    """A connection to ``endpoint`` (``"public"`` / ``"private"``) is open and subscribed."""

    endpoint: str
    url: str
    at: float  # epoch seconds
    attempt: int  # 0 for the first connection


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A connection came back after a drop; the whole subscription set was re-sent."""

    endpoint: str
    url: str
    at: float
    downtime: float  # seconds since the drop


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A connection ended; ``cause`` says why (its class says whether it is retried)."""

    endpoint: str
    cause: UpbitWSError
    at: float


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The next attempt on ``endpoint`` starts after ``delay`` seconds."""

    endpoint: str
    attempt: int
    delay: float
    cause: UpbitWSError


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """An error; ``fatal`` errors end the stream and are raised from its iterator."""

    endpoint: str
    error: UpbitWSError
    fatal: bool
    at: float


@dataclass(frozen=True, slots=True)
class GapDetected:
    """Messages of ``type``/``code`` may be missing from ``since`` (epoch ms) on.

    ``cause`` is ``"reconnect"`` or ``"overflow"``. For trades a backfill follows when
    enabled; for types without history the next SNAPSHOT heals the state.
    """

    type: str
    code: str
    cause: str
    since: int | None


@dataclass(frozen=True, slots=True)
class GapFilled:
    """A trade gap was closed: ``recovered`` trades were fetched from REST and delivered."""

    type: str
    code: str
    recovered: int


@dataclass(frozen=True, slots=True)
class GapUnrecoverable:
    """A gap that cannot be filled; ``reason`` says why (and whether a snapshot heals it)."""

    type: str
    code: str
    reason: str


LifecycleEvent = (
    Connected
    | Reconnected
    | Disconnected
    | Reconnecting
    | ErrorOccurred
    | GapDetected
    | GapFilled
    | GapUnrecoverable
)
