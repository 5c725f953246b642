"""In-process alert rules (docs/operations.md "Alerts"): a sans-I/O engine.

Observations in (``now`` — any monotonic clock in seconds — plus the counters a stream
already keeps), raise / resolve transitions out. The engine never reads a clock: the
exporter's monitor task (``upbitws.metrics``) feeds it once a second, tests feed it fake
time. Every rule is one threshold the user sets; ``None`` disables it.

=================== ======================================================== ============
rule                fires when                                               default
=================== ======================================================== ============
disconnected        an endpoint has not been open for N s                    30 s
no_data             a subscribed public type delivered nothing for N s       120 s
reconnect_storm     more than K reconnects within the last 10 min            5
gap_unrecoverable   at least K unrecoverable gaps within the last 10 min     1 (at once)
latency_p99_ms      p99 of Upbit ``timestamp`` → receipt over the last 1 min 1000 ms
rss_mb              resident memory above N MiB                              1024
cpu_percent         process CPU over the last 1 min above N %                90
loop_lag_ms         event-loop lag above N ms                                500
=================== ======================================================== ============

``deploy/prometheus/alerts.yml`` holds the same rules in PromQL over the exported metrics.
Windowed rules (10 min, 1 min) measure over the observations inside the window plus the
newest one before it, so the first minutes measure over what has been seen so far.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Final, Generic, TypeVar

from upbitws.exceptions import ConfigurationError

__all__ = [
    "ALERT_NAMES",
    "SEVERITIES",
    "AlertChange",
    "AlertEngine",
    "AlertRules",
    "Observation",
]

ALERT_NAMES: Final = (
    "disconnected",
    "no_data",
    "reconnect_storm",
    "gap_unrecoverable",
    "latency_p99_ms",
    "rss_mb",
    "cpu_percent",
    "loop_lag_ms",
)
#: A lost connection or lost data pages someone; the rest are warnings.
SEVERITIES: Final[Mapping[str, str]] = {
    "disconnected": "critical",
    "no_data": "critical",
    "reconnect_storm": "warning",
    "gap_unrecoverable": "critical",
    "latency_p99_ms": "warning",
    "rss_mb": "warning",
    "cpu_percent": "warning",
    "loop_lag_ms": "warning",
}
#: Window of the counting rules (reconnect_storm, gap_unrecoverable), seconds.
STORM_WINDOW: Final = 600.0
#: Window of the rate rules (latency_p99_ms, cpu_percent), seconds.
RATE_WINDOW: Final = 60.0
#: Shortest span the CPU rate is measured over.
CPU_MIN_SPAN: Final = 10.0
_COUNTS: Final = frozenset({"reconnect_storm", "gap_unrecoverable"})
_MIB: Final = 1024 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Thresholds of the built-in alerts; ``None`` turns one off."""

    disconnected: float | None = 30.0
    no_data: float | None = 120.0
    reconnect_storm: float | None = 5
    gap_unrecoverable: float | None = 1
    latency_p99_ms: float | None = 1000.0
    rss_mb: float | None = 1024.0
    cpu_percent: float | None = 90.0
    loop_lag_ms: float | None = 500.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"alert {f.name}: expected a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"alert {f.name}: must be a finite number >= 0")
            if f.name in _COUNTS and value != int(value):
                raise ConfigurationError(f"alert {f.name}: must be a whole number of events")

    def with_settings(self, settings: Iterable[str]) -> AlertRules:
        """Apply ``NAME=VALUE`` / ``NAME=off`` strings (the CLI's ``--alert``); a bad one
        raises :class:`ConfigurationError` naming it and the valid names."""
        changes: dict[str, float | None] = {}
        for setting in settings:
            name, sep, raw = setting.partition("=")
            name, raw = name.strip(), raw.strip()
            if not sep or name not in ALERT_NAMES:
                raise ConfigurationError(
                    f"--alert {setting!r}: use NAME=VALUE or NAME=off with NAME one of "
                    f"{', '.join(ALERT_NAMES)}"
                )
            if raw.lower() == "off":
                changes[name] = None
                continue
            try:
                changes[name] = float(raw)
            except ValueError:
                raise ConfigurationError(
                    f"--alert {setting!r}: {raw!r} is not a number (or 'off')"
                ) from None
        return replace(self, **changes)

    def enabled(self) -> tuple[str, ...]:
        return tuple(n for n in ALERT_NAMES if getattr(self, n) is not None)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a stream and its process look like at one moment (all counters cumulative)."""

    #: endpoint (``public`` / ``private``) → whether its connection is open.
    endpoints: Mapping[str, bool] = field(default_factory=dict)
    #: messages received so far per type (``StatsSnapshot.received``).
    received: Mapping[str, int] = field(default_factory=dict)
    #: public types subscribed, each expected to deliver data (``no_data``).
    watched: frozenset[str] = frozenset()
    reconnects: int = 0
    gaps_unrecoverable: int = 0
    #: latency histogram: (bucket upper bound in ms, samples in the bucket so far).
    latency: Sequence[tuple[float, int]] = ()
    rss_bytes: int | None = None
    cpu_seconds: float | None = None
    #: event-loop lag, seconds.
    loop_lag: float | None = None


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert started (``raised``) or stopped firing; times in the engine's clock."""

    name: str
    raised: bool
    severity: str
    summary: str
    since: float  # when the condition began
    value: float | None
    at: float  # when the engine saw the change


@dataclass(slots=True)
class _Verdict:
    active: bool
    value: float | None
    summary: str
    since: float | None = None  # None: now


class _Window(Generic[_T]):
    """Samples of a cumulative value inside a window, plus the newest one before it.

    The newest sample is replaced while it is within ``resolution`` seconds of the one
    before it, so kept samples are at least ``resolution / 2`` apart however often the engine
    is fed (every scrape feeds it): memory stays bounded, the window's edge exact to
    ``resolution``, and sparse observations are all kept."""

    __slots__ = ("_samples", "resolution", "span")

    def __init__(self, span: float, resolution: float = 1.0) -> None:
        self.span = span
        self.resolution = resolution
        self._samples: deque[tuple[float, _T]] = deque()

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, now: float, value: _T) -> tuple[float, _T]:
        """Record ``value`` at ``now``; return the base sample (time, value) to diff with."""
        samples = self._samples
        if len(samples) >= 2 and now - samples[-2][0] < self.resolution:
            samples[-1] = (now, value)
        else:
            samples.append((now, value))
        while len(samples) > 1 and samples[1][0] <= now - self.span:
            samples.popleft()
        return samples[0]


def _increase(base: float, value: float) -> float:
    """A counter's increase; a counter that went down was reset, so all of it is new."""
    return value - base if value >= base else value


def _p99(counts: Sequence[tuple[float, int]]) -> float | None:
    """Nearest-rank p99 of a histogram, as the upper bound of its bucket (conservative)."""
    total = sum(n for _, n in counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(0.99 * total))
    seen = 0
    for bound, n in counts:
        seen += n
        if seen >= rank:
            return bound
    raise AssertionError("unreachable: the buckets sum to total")  # pragma: no cover


def _duration(seconds: float) -> str:
    if seconds >= 10 or seconds == int(seconds):
        return f"{seconds:.0f}s"
    return f"{seconds:.1f}s"  # sub-10 s thresholds (tests, tight setups) keep their tenths


class AlertEngine:
    """Evaluates :class:`AlertRules` over :class:`Observation` s; see the module docstring."""

    def __init__(self, rules: AlertRules, now: float) -> None:
        self.rules = rules
        self.started = now
        self._firing: dict[str, AlertChange] = {}
        self._down_since: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._data_at: dict[str, float] = {}
        self._watch_from: dict[str, float] = {}
        # Resolutions: 5 s for the 10 min counts and the minute of latency histograms (a
        # ~370-count tuple each), 1 s for the CPU time.
        self._reconnects: _Window[int] = _Window(STORM_WINDOW, 5.0)
        self._gaps: _Window[int] = _Window(STORM_WINDOW, 5.0)
        self._latency: _Window[tuple[int, ...]] = _Window(RATE_WINDOW, 5.0)
        self._cpu: _Window[float] = _Window(RATE_WINDOW, 1.0)

    @property
    def firing(self) -> Mapping[str, AlertChange]:
        """The alerts firing now, by name (in :data:`ALERT_NAMES` order), each as its raise."""
        return {n: self._firing[n] for n in ALERT_NAMES if n in self._firing}

    def last_data(self) -> dict[str, float]:
        """When data of each type was last seen to arrive (engine clock), to the resolution
        of the observations."""
        return dict(self._data_at)

    def watch_from(self) -> dict[str, float]:
        """The subscribed public types, each with when it was first seen subscribed."""
        return dict(self._watch_from)

    def observe(self, now: float, obs: Observation) -> list[AlertChange]:
        """Take one observation; return the raise / resolve transitions it causes, in the
        order of :data:`ALERT_NAMES`."""
        self._track(now, obs)
        changes: list[AlertChange] = []
        for name in self.rules.enabled():
            threshold = getattr(self.rules, name)
            verdict = getattr(self, f"_rule_{name}")(now, obs, threshold)
            current = self._firing.get(name)
            if verdict.active and current is None:
                since = now if verdict.since is None else verdict.since
                change = AlertChange(
                    name, True, SEVERITIES[name], verdict.summary, since, verdict.value, now
                )
                self._firing[name] = change
                changes.append(change)
            elif not verdict.active and current is not None:
                del self._firing[name]
                changes.append(
                    AlertChange(
                        name,
                        False,
                        current.severity,
                        verdict.summary,
                        current.since,
                        verdict.value,
                        now,
                    )
                )
        return changes

    # -- bookkeeping shared by the rules ---------------------------------------------------

    def _track(self, now: float, obs: Observation) -> None:
        for endpoint, is_open in obs.endpoints.items():
            if is_open:
                self._down_since.pop(endpoint, None)
            else:
                self._down_since.setdefault(endpoint, now)
        for type_, count in obs.received.items():
            if count != self._counts.get(type_, 0):
                self._data_at[type_] = now
            self._counts[type_] = count
        for type_ in obs.watched:
            self._watch_from.setdefault(type_, now)
        for type_ in set(self._watch_from) - obs.watched:
            del self._watch_from[type_]

    # -- the rules (one method per name in ALERT_NAMES) -----------------------------------

    def _rule_disconnected(self, now: float, obs: Observation, limit: float) -> _Verdict:
        down = {ep: now - at for ep, at in self._down_since.items() if ep in obs.endpoints}
        if not down:
            return _Verdict(False, 0.0, "every endpoint is open")
        worst = max(down, key=lambda ep: down[ep])
        value = down[worst]
        active = value >= limit
        return _Verdict(
            active,
            value,
            f"{worst} endpoint not open for {_duration(value)} (limit {_duration(limit)})",
            self._down_since[worst],
        )

    def _rule_no_data(self, now: float, obs: Observation, limit: float) -> _Verdict:
        quiet = {
            t: now - max(self._data_at.get(t, start), start)
            for t, start in self._watch_from.items()
        }
        if not quiet:
            return _Verdict(False, None, "no public type subscribed")
        worst = max(sorted(quiet), key=lambda t: quiet[t])
        value = quiet[worst]
        if value < limit:
            return _Verdict(False, value, "every subscribed type delivered data recently")
        silent = sorted(t for t, q in quiet.items() if q >= limit)
        return _Verdict(
            True,
            value,
            f"no {', '.join(silent)} data for {_duration(value)} (limit {_duration(limit)})",
            now - value,
        )

    def _rule_reconnect_storm(self, now: float, obs: Observation, limit: float) -> _Verdict:
        _, base = self._reconnects.add(now, obs.reconnects)
        value = _increase(base, obs.reconnects)
        return _Verdict(
            value > limit,
            value,
            f"{value:.0f} reconnects in the last 10 min (limit {limit:.0f})",
        )

    def _rule_gap_unrecoverable(self, now: float, obs: Observation, limit: float) -> _Verdict:
        _, base = self._gaps.add(now, obs.gaps_unrecoverable)
        value = _increase(base, obs.gaps_unrecoverable)
        return _Verdict(
            value >= max(limit, 1),
            value,
            f"{value:.0f} unrecoverable gap(s) in the last 10 min: data was lost",
        )

    def _rule_latency_p99_ms(self, now: float, obs: Observation, limit: float) -> _Verdict:
        # The window keeps counts only (a minute of ~370-bucket samples); the bounds come
        # from the current observation.
        bounds = [bound for bound, _ in obs.latency]
        current = tuple(n for _, n in obs.latency)
        _, base = self._latency.add(now, current)
        if len(base) != len(current) or any(b > c for b, c in zip(base, current, strict=True)):
            counts = current  # a reset (or a new histogram): all of it is in the window
        else:
            counts = tuple(c - b for c, b in zip(current, base, strict=True))
        value = _p99(list(zip(bounds, counts, strict=True)))
        if value is None:
            return _Verdict(False, None, "no latency samples in the last minute")
        return _Verdict(
            value > limit,
            value,
            f"latency p99 {value:.0f} ms over the last minute (limit {limit:.0f} ms)",
        )

    def _rule_rss_mb(self, now: float, obs: Observation, limit: float) -> _Verdict:
        if obs.rss_bytes is None:
            return _Verdict(False, None, "resident memory unknown")
        value = obs.rss_bytes / _MIB
        return _Verdict(
            value > limit, value, f"resident memory {value:.0f} MiB (limit {limit:.0f} MiB)"
        )

    def _rule_cpu_percent(self, now: float, obs: Observation, limit: float) -> _Verdict:
        if obs.cpu_seconds is None:
            return _Verdict(False, None, "CPU time unknown")
        at, base = self._cpu.add(now, obs.cpu_seconds)
        if now - at < CPU_MIN_SPAN:  # a rate over milliseconds (scrapes in a burst) is noise
            return _Verdict(False, None, f"CPU: under {CPU_MIN_SPAN:.0f}s observed so far")
        value = _increase(base, obs.cpu_seconds) / (now - at) * 100.0
        return _Verdict(
            value > limit,
            value,
            f"CPU {value:.0f}% over the last {_duration(min(now - at, RATE_WINDOW))} "
            f"(limit {limit:.0f}%)",
        )

    def _rule_loop_lag_ms(self, now: float, obs: Observation, limit: float) -> _Verdict:
        if obs.loop_lag is None:
            return _Verdict(False, None, "event-loop lag unknown")
        value = obs.loop_lag * 1000.0
        return _Verdict(
            value > limit, value, f"event-loop lag {value:.0f} ms (limit {limit:.0f} ms)"
        )
