"""Statistics of a stream (connect time, uptime, messages, reconnections, latency): counters
the connections update in place, and an immutable :class:`StatsSnapshot` for the user.

Times shown to people are in KST (UTC+9, no DST), Upbit's home time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from upbitws.client.process import ProcessProbe, open_fds, rss_bytes
from upbitws.protocol.latency import LatencyRecorder, LatencySnapshot

__all__ = ["KST", "ConnectionStats", "StatsSnapshot", "StreamCounters", "format_kst"]

#: Korea Standard Time. Upbit's own ``*_kst`` fields and announcements use it.
KST: Final = timezone(timedelta(hours=9), "KST")


def format_kst(epoch: float | None) -> str:
    """``2026-11-22 13:15:56+09:00 KST`` for an epoch time (offset written, so the time is
    unambiguous next to UTC logs), ``-`` for ``None``."""
    if epoch is None:
        return "-"
    moment = datetime.fromtimestamp(epoch, tz=UTC).astimezone(KST)
    return moment.strftime("%Y-%m-%d %H:%M:%S+09:00 KST")


@dataclass(slots=True)
class ConnectionStats:
    """Counters of one endpoint's connection (``public`` or ``private``)."""

    endpoint: str
    state: str = "idle"  # idle, connecting, open, backoff, closed, failed
    first_connected_at: float | None = None
    connected_at: float | None = None  # current connection; None while down
    connected_monotonic: float | None = None
    connects: int = 0
    reconnections: int = 0
    attempts: int = 0
    messages_sent: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


@dataclass(slots=True)
class StreamCounters:
    """Mutable counters shared by a stream's connections; read through :meth:`snapshot`."""

    received: dict[str, int] = field(default_factory=dict)
    bytes_received: int = 0
    frames_received: int = 0
    decode_errors: int = 0  # frames skipped: not JSON / not a frame any model decodes
    frame_errors: int = 0  # frames skipped: decoded, but handling them raised
    unsubscribed_dropped: int = 0  # messages of a (type, code) not subscribed, dropped
    latency: LatencyRecorder = field(default_factory=LatencyRecorder)
    connections: dict[str, ConnectionStats] = field(default_factory=dict)
    gaps_opened: int = 0
    gaps_filled: int = 0
    gaps_unrecoverable: int = 0
    #: Of ``gaps_unrecoverable``: gaps of types without history (orderbook, ticker, candle)
    #: that the next SNAPSHOT after the reconnect heals.
    gaps_healed: int = 0
    trades_recovered: int = 0
    duplicates_suppressed: int = 0
    #: (type, outcome) → gaps; outcome: detected, filled, healed, unrecoverable (metrics).
    gaps: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (endpoint, exception class name) → connection errors (metrics).
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Loop lag and CPU %, measured by a task the stream owns (client/process.py).
    process: ProcessProbe = field(default_factory=ProcessProbe)

    def gap(self, type_: str, outcome: str) -> None:
        key = (type_, outcome)
        self.gaps[key] = self.gaps.get(key, 0) + 1

    def connection(self, endpoint: str) -> ConnectionStats:
        stats = self.connections.get(endpoint)
        if stats is None:
            stats = self.connections[endpoint] = ConnectionStats(endpoint)
        return stats

    def error(self, endpoint: str, error: BaseException, at: float) -> None:
        conn = self.connection(endpoint)
        conn.last_error = f"{type(error).__name__}: {error}"
        conn.last_error_at = at
        key = (endpoint, type(error).__name__)
        self.errors[key] = self.errors.get(key, 0) + 1

    def snapshot(
        self,
        *,
        now: float,
        monotonic: float,
        queue_depth: int,
        conflated: dict[str, int],
        dropped: dict[str, int],
    ) -> StatsSnapshot:
        conns = tuple(
            ConnectionStats(**{f: getattr(c, f) for f in c.__slots__})
            for c in self.connections.values()
        )
        uptime = sum(
            monotonic - c.connected_monotonic for c in conns if c.connected_monotonic is not None
        )
        errors = [c for c in conns if c.last_error_at is not None]
        last = max(errors, key=lambda c: c.last_error_at or 0.0) if errors else None
        firsts = [c.first_connected_at for c in conns if c.first_connected_at is not None]
        open_conns = [c for c in conns if c.state == "open"]
        state = (
            "open"
            if conns and len(open_conns) == len(conns)
            else (conns[0].state if len(conns) == 1 else _combined_state(conns))
        )
        return StatsSnapshot(
            taken_at=now,
            state=state,
            connected_at=min(firsts) if firsts else None,
            uptime=uptime / max(len(open_conns), 1),
            received=dict(self.received),
            messages_received=sum(self.received.values()),
            frames_received=self.frames_received,
            bytes_received=self.bytes_received,
            messages_sent=sum(c.messages_sent for c in conns),
            reconnections=sum(c.reconnections for c in conns),
            decode_errors=self.decode_errors,
            frame_errors=self.frame_errors,
            unsubscribed_dropped=self.unsubscribed_dropped,
            conflated=dict(conflated),
            dropped=dict(dropped),
            queue_depth=queue_depth,
            last_error=last.last_error if last else None,
            last_error_at=last.last_error_at if last else None,
            latency=self.latency.snapshot(),
            gaps_opened=self.gaps_opened,
            gaps_filled=self.gaps_filled,
            gaps_unrecoverable=self.gaps_unrecoverable,
            trades_recovered=self.trades_recovered,
            duplicates_suppressed=self.duplicates_suppressed,
            connections=conns,
            gaps_healed=self.gaps_healed,
            gaps=dict(self.gaps),
            errors=dict(self.errors),
            rss_bytes=rss_bytes(),
            cpu_percent=self.process.cpu_percent,
            open_fds=open_fds(),
            loop_lag=self.process.lag,
        )


def _combined_state(conns: tuple[ConnectionStats, ...]) -> str:
    if not conns:
        return "idle"
    states = {c.state for c in conns}
    return "degraded" if "open" in states else sorted(states)[0]


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """A point-in-time copy of a stream's statistics (epoch seconds for times)."""

    taken_at: float
    state: str
    connected_at: float | None  # first successful connection
    uptime: float  # seconds the current connection(s) have been open
    received: dict[str, int]  # messages per type
    messages_received: int
    frames_received: int
    bytes_received: int
    messages_sent: int
    reconnections: int
    #: Frames skipped because they did not decode (gap cause "decode", docs/hostile-input.md).
    decode_errors: int
    #: Frames skipped because handling them raised after decoding (gap cause "frame").
    frame_errors: int
    #: Messages dropped because their (type, code) is not subscribed on their connection.
    unsubscribed_dropped: int
    conflated: dict[str, int]
    dropped: dict[str, int]
    queue_depth: int
    last_error: str | None
    last_error_at: float | None
    #: Upbit ``timestamp`` → receipt, ms, REALTIME messages, time-sampled (≤ 2,000/s).
    latency: LatencySnapshot
    gaps_opened: int
    gaps_filled: int
    gaps_unrecoverable: int
    trades_recovered: int
    duplicates_suppressed: int
    connections: tuple[ConnectionStats, ...]
    #: Of ``gaps_unrecoverable``: healed by the next SNAPSHOT (types without history).
    gaps_healed: int = 0
    #: The process (client/process.py): resident memory, CPU % over the last ~5 s, open file
    #: descriptors, worst event-loop lag of the last ~5 s (seconds); None where unknown.
    #: (type, outcome) → gaps: detected, filled (backfilled), healed (a snapshot replaces the
    #: state), unrecoverable (data lost). (endpoint, exception class) → connection errors.
    gaps: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    rss_bytes: int | None = None
    cpu_percent: float | None = None
    open_fds: int | None = None
    loop_lag: float | None = None

    def summary(self) -> str:
        """One line for logs, times in KST."""
        lat = self.latency

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        latency = (
            f"latency=clocks-disagree({lat.negative}/{lat.count} negative)"
            if lat.clocks_disagree
            else f"latency_ms p50={ms(lat.p50)} p99={ms(lat.p99)} max={ms(lat.max)}"
        )
        err = (
            f" last_error={self.last_error!r} at {format_kst(self.last_error_at)}"
            if self.last_error
            else ""
        )
        return (
            f"state={self.state} since={format_kst(self.connected_at)} "
            f"uptime={self.uptime:.0f}s msgs_in={self.messages_received} "
            f"bytes_in={self.bytes_received} msgs_out={self.messages_sent} "
            f"reconnects={self.reconnections} decode_errors={self.decode_errors} "
            f"frame_errors={self.frame_errors} unsubscribed={self.unsubscribed_dropped} "
            f"conflated={sum(self.conflated.values())} dropped={sum(self.dropped.values())} "
            f"queue={self.queue_depth} {latency} "
            f"gaps(opened/recovered/healed/unrecoverable)={self.gaps_opened}/"
            f"{self.gaps_filled}/{self.gaps_healed}/{self.gaps_unrecoverable - self.gaps_healed} "
            f"recovered={self.trades_recovered} "
            f"dup_suppressed={self.duplicates_suppressed} {self._process_summary()}{err}"
        )

    def _process_summary(self) -> str:
        def num(value: float | None, scale: float, fmt: str) -> str:
            return "-" if value is None else format(value * scale, fmt)

        return (
            f"rss_mb={num(self.rss_bytes, 1 / 1048576, '.1f')} "
            f"cpu_pct={num(self.cpu_percent, 1, '.0f')} fds={num(self.open_fds, 1, '.0f')} "
            f"loop_lag_ms={num(self.loop_lag, 1000, '.1f')}"
        )
