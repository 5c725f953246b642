"""Keepalive and data-liveness policy for one connection (protocol §5, architecture §2.1, §3).

Two different questions, kept apart on purpose:

* **Is the transport alive?** (``Dead``) We ping; the connection is dead when neither a
  pong nor *any* other frame arrived within ``pong_timeout`` of the oldest unanswered
  ping. A connection that delivers data is not dead.
* **Are the subscribed streams flowing?** (``Probe`` / ``Stalled``) A quiet market may
  legitimately send nothing for minutes, so silence alone is not death (the reference Go
  manager's bug was using the 30-s pong deadline as a read deadline). When subscribed
  streams deliver nothing for ``data_timeout`` we *probe*: the driver re-sends the full
  subscription request, which makes Upbit answer with fresh SNAPSHOTs (protocol §3.5).
  Still nothing ``probe_timeout`` later means the streams are ``Stalled``. The watchdog
  is armed by the subscribe itself, so "no first message ever" is caught too.

Keepalive modes (protocol §5):

* ``"ping"``: an RFC 6455 ping frame every ``ping_interval`` seconds.
* ``"status"``: for transports that cannot send ping frames, the text message ``PING``;
  Upbit then sends ``{"status":"UP"}`` every 10 s for the socket's life. ``PING`` is sent
  once after open (send it before the subscription: the KR host was seen not to start
  the cycle on an already-subscribed socket) and again when no ``UP`` came for 20 s.
  ``ping_interval`` is unused in this mode; ``Dead`` is measured from the later of the
  first ``PING`` and the last frame.

Sans-I/O, aioquic style: events and ``now`` in, ``poll(now)`` gives the next action,
``next_deadline(now)`` says when to call ``poll`` again. The driver calls ``poll`` until
it returns ``None`` and then sleeps until ``next_deadline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

from upbitws.exceptions import ConfigurationError, DataStalledError, PongTimeoutError

__all__ = [
    "STATUS_UP_INTERVAL",
    "Action",
    "Dead",
    "Liveness",
    "LivenessPolicy",
    "Probe",
    "SendPing",
    "Stalled",
]

#: Upbit sends ``{"status":"UP"}`` every 10 s after a text ``PING`` (protocol §5, §4.12).
STATUS_UP_INTERVAL = 10.0

_NEVER = -math.inf


def _positive(value: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """Keepalive and watchdog settings (seconds). ``data_timeout=None`` disables the watchdog."""

    ping_interval: float = 10.0
    pong_timeout: float = 30.0
    mode: Literal["ping", "status"] = "ping"
    data_timeout: float | None = 60.0
    probe_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in ("ping", "status"):
            raise ConfigurationError(f"liveness mode must be 'ping' or 'status', got {self.mode!r}")
        for field in ("ping_interval", "pong_timeout", "probe_timeout"):
            value = getattr(self, field)
            if not _positive(value):
                raise ConfigurationError(f"{field} must be a finite number > 0, got {value!r}")
        if self.data_timeout is not None and not _positive(self.data_timeout):
            raise ConfigurationError(
                f"data_timeout must be None or a finite number > 0, got {self.data_timeout!r}"
            )


@dataclass(frozen=True, slots=True)
class SendPing:
    """Send a keepalive now: a ping frame (``"ping"`` mode) or the text ``PING`` (``"status"``)."""


@dataclass(frozen=True, slots=True)
class Dead:
    """The transport is dead: close it and reconnect."""

    reason: str

    def error(self) -> PongTimeoutError:
        return PongTimeoutError(self.reason)


@dataclass(frozen=True, slots=True)
class Probe:
    """Subscribed streams are silent: re-send the full subscription request now."""


@dataclass(frozen=True, slots=True)
class Stalled:
    """Subscribed streams stayed silent after a probe: close the connection and reconnect."""

    reason: str

    def error(self) -> DataStalledError:
        return DataStalledError(self.reason)


Action: TypeAlias = SendPing | Dead | Probe | Stalled

_SEND_PING = SendPing()
_PROBE = Probe()


class Liveness:
    """Liveness state of one connection. ``opened(now)`` starts (or restarts) it.

    Feed it: ``ping_sent`` when a ping frame / text ``PING`` went out, ``pong_received``
    for a pong, a ``{"status":"UP"}`` or any other non-data frame, ``data_received`` for
    every data frame (cheap: two attribute stores), ``subscribed`` when a subscription
    request went out, ``probe_sent`` when the re-sent request for a ``Probe`` went out
    (not ``subscribed``: that would re-arm the watchdog and never report ``Stalled``).
    """

    __slots__ = (
        "_first_ping",
        "_last_data",
        "_last_frame",
        "_last_ping",
        "_last_pong",
        "_opened_at",
        "_probe_at",
        "_subscribed_at",
        "_unanswered",
        "_watch",
        "policy",
    )

    def __init__(self, policy: LivenessPolicy) -> None:
        self.policy = policy
        self._opened_at: float | None = None
        self._reset()

    def _reset(self) -> None:
        self._first_ping: float | None = None  # status mode: when PING was first sent
        self._last_ping: float | None = None
        self._unanswered: float | None = None  # ping mode: oldest ping not followed by a frame
        self._last_frame = _NEVER  # any frame: data, pong, UP
        self._last_pong = _NEVER  # pong / UP only
        self._last_data = _NEVER
        self._subscribed_at: float | None = None
        self._watch = False
        self._probe_at: float | None = None

    # -- events -------------------------------------------------------------------------

    def opened(self, now: float) -> None:
        """A new connection is open: all earlier state is forgotten."""
        self._reset()
        self._opened_at = now

    def ping_sent(self, now: float) -> None:
        self._last_ping = now
        if self._first_ping is None:
            self._first_ping = now
        # A frame at or after the outstanding ping answered it; this ping is the oldest now.
        if self._unanswered is None or self._last_frame >= self._unanswered:
            self._unanswered = now

    def pong_received(self, now: float) -> None:
        self._last_frame = now
        self._last_pong = now

    def data_received(self, now: float) -> None:
        self._last_frame = now
        self._last_data = now

    def subscribed(self, now: float, watch: bool = True) -> None:
        """A subscription request went out; arms the data watchdog from ``now``.

        ``watch=False`` for connections carrying only private types (myOrder, myAsset),
        which can be silent for hours.
        """
        self._subscribed_at = now
        self._watch = watch
        self._probe_at = None

    def probe_sent(self, now: float) -> None:
        self._probe_at = now

    # -- timers -------------------------------------------------------------------------

    def _dead_at(self) -> float | None:
        if self.policy.mode == "ping":
            start = self._unanswered
            if start is None or self._last_frame >= start:
                return None
            return start + self.policy.pong_timeout
        if self._first_ping is None:
            return None
        # Status mode: UPs keep coming every 10 s once started, so the deadline runs from
        # the last frame; re-sending PING does not extend it.
        return max(self._first_ping, self._last_frame) + self.policy.pong_timeout

    def _ping_at(self, opened: float) -> float:
        """When the next keepalive is due on a connection opened at ``opened``."""
        last = self._last_ping
        if self.policy.mode == "ping":
            return (opened if last is None else last) + self.policy.ping_interval
        if last is None:
            return opened
        return max(last, self._last_pong) + 2 * STATUS_UP_INTERVAL

    def _watchdog(self) -> tuple[float, bool] | None:
        """(deadline, is_stalled) of the data watchdog, or None when it is off."""
        timeout = self.policy.data_timeout
        subscribed = self._subscribed_at
        if timeout is None or subscribed is None or not self._watch:
            return None
        probe = self._probe_at
        if probe is not None and self._last_data < probe:
            return probe + self.policy.probe_timeout, True
        return max(subscribed, self._last_data) + timeout, False

    def poll(self, now: float) -> Action | None:
        """The most urgent action due at ``now``, or None."""
        if self._opened_at is None:
            return None
        policy = self.policy
        dead_at = self._dead_at()
        if dead_at is not None and now >= dead_at:
            if policy.mode == "ping":
                return Dead(f"no pong or other frame within {policy.pong_timeout:g} s of a ping")
            return Dead(
                f'no {{"status":"UP"}} or other frame for {policy.pong_timeout:g} s '
                "after the text PING"
            )
        watchdog = self._watchdog()
        if watchdog is not None and watchdog[1] and now >= watchdog[0]:
            return Stalled(
                f"subscribed streams sent no data for {policy.data_timeout or 0:g} s, nor "
                f"within {policy.probe_timeout:g} s of re-sending the subscription"
            )
        if now >= self._ping_at(self._opened_at):
            return _SEND_PING
        if watchdog is not None and now >= watchdog[0]:
            return _PROBE
        return None

    def next_deadline(self, now: float) -> float | None:
        """The earliest time >= ``now`` at which ``poll`` could return an action.

        Returns ``now`` when an action is already due; None when nothing is armed.
        """
        if self._opened_at is None:
            return None
        # The keepalive is always armed on an open connection, so there is always a deadline.
        deadlines = [self._ping_at(self._opened_at), self._dead_at()]
        watchdog = self._watchdog()
        if watchdog is not None:
            deadlines.append(watchdog[0])
        return max(now, min(d for d in deadlines if d is not None))

    @property
    def last_data(self) -> float | None:
        """When the last data frame arrived since ``opened`` (None: none yet); the backoff
        uses it to tell a productive connection from one that failed (backoff.py)."""
        return None if self._last_data == _NEVER else self._last_data
