"""The stream's metrics, built at scrape time from the counters it already keeps.

A prometheus-client custom collector: nothing is counted twice and nothing runs per message;
each scrape reads ``stream.stats()`` and ``stream.counters`` once (on the event loop's
thread, so the dicts are never read mid-update) and yields metric families. The names are
fixed (docs/operations.md lists them; dashboards and ``deploy/prometheus/alerts.yml`` rely on
them). Label values are endpoint names, message types, outcome words, alert names and
exception class names — never a URL, key or message text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from upbitws.protocol.alerts import ALERT_NAMES
from upbitws.protocol.subscriptions import is_private

if TYPE_CHECKING:
    from upbitws.metrics.monitor import Monitor

__all__ = ["LATENCY_BUCKETS", "METRIC_NAMES", "StreamCollector"]

#: ``le`` bounds of ``upbitws_latency_seconds``: 1 ms … 10 s (Upbit from Korea: tens of ms).
LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Every family this collector yields (the ``_total`` suffix as exposed for counters).
METRIC_NAMES: Final = (
    "upbitws_messages_received_total",
    "upbitws_bytes_received_total",
    "upbitws_messages_sent_total",
    "upbitws_connected",
    "upbitws_reconnects_total",
    "upbitws_connection_errors_total",
    "upbitws_last_message_timestamp_seconds",
    "upbitws_gaps_total",
    "upbitws_trades_recovered_total",
    "upbitws_duplicates_suppressed_total",
    "upbitws_decode_errors_total",
    "upbitws_dropped_total",
    "upbitws_conflated_total",
    "upbitws_queue_depth",
    "upbitws_latency_seconds",
    "upbitws_event_loop_lag_seconds",
    "upbitws_alerts_firing",
)
_GAP_OUTCOMES: Final = ("detected", "filled", "healed", "unrecoverable")


def _endpoint_of(type_: str) -> str:
    return "private" if is_private(type_) else "public"


class StreamCollector(Collector):
    """Yields the ``upbitws_*`` families for one stream (and its alert monitor)."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def describe(self) -> list[Metric]:
        return []  # names are produced at collect time; nothing to pre-register

    def collect(self) -> Iterator[Metric]:
        monitor = self.monitor
        stream = monitor.stream
        stats = stream.stats()
        endpoints = [c.endpoint for c in stats.connections]

        received = CounterMetricFamily(
            "upbitws_messages_received",
            "Data messages received, per endpoint and type",
            labels=("endpoint", "type"),
        )
        for type_, n in sorted(stats.received.items()):
            received.add_metric((_endpoint_of(type_), type_), n)
        yield received

        # The stream keeps one byte counter for all its connections (no per-frame cost); it is
        # labelled with the endpoint when there is one, "all" when public and private share it.
        bytes_in = CounterMetricFamily(
            "upbitws_bytes_received",
            "Frame payload bytes received (endpoint 'all' when both endpoints share it)",
            labels=("endpoint",),
        )
        bytes_in.add_metric((endpoints[0] if len(endpoints) == 1 else "all",), stats.bytes_received)
        yield bytes_in

        sent = CounterMetricFamily(
            "upbitws_messages_sent", "Requests sent to Upbit, per endpoint", labels=("endpoint",)
        )
        connected = GaugeMetricFamily(
            "upbitws_connected", "1 while the endpoint's connection is open", labels=("endpoint",)
        )
        reconnects = CounterMetricFamily(
            "upbitws_reconnects", "Successful reconnections, per endpoint", labels=("endpoint",)
        )
        for conn in stats.connections:
            sent.add_metric((conn.endpoint,), conn.messages_sent)
            connected.add_metric((conn.endpoint,), 1.0 if conn.state == "open" else 0.0)
            reconnects.add_metric((conn.endpoint,), conn.reconnections)
        yield sent
        yield connected
        yield reconnects

        errors = CounterMetricFamily(
            "upbitws_connection_errors",
            "Connection errors, per endpoint and exception class",
            labels=("endpoint", "error"),
        )
        for (endpoint, error), n in sorted(stats.errors.items()):
            errors.add_metric((endpoint, error), n)
        yield errors

        last = GaugeMetricFamily(
            "upbitws_last_message_timestamp_seconds",
            "Wall clock of the last message per type (to the monitor's 1 s resolution)",
            labels=("type",),
        )
        for type_, at in sorted(monitor.last_data().items()):
            last.add_metric((type_,), at)
        yield last

        gaps = CounterMetricFamily(
            "upbitws_gaps",
            "Gaps per type and outcome: detected, filled, healed (snapshot), unrecoverable",
            labels=("type", "outcome"),
        )
        # Every subscribed type from zero, so increase() sees the first gap of each.
        subscribed = {t for t, _ in stream.subscriptions.keys()}  # noqa: SIM118 - a method
        gap_types = sorted(subscribed | {t for t, _ in stats.gaps})
        for type_ in gap_types:
            for outcome in _GAP_OUTCOMES:
                gaps.add_metric((type_, outcome), stats.gaps.get((type_, outcome), 0))
        yield gaps

        yield CounterMetricFamily(
            "upbitws_trades_recovered",
            "Trades fetched from REST to fill gaps and delivered",
            value=stats.trades_recovered,
        )
        yield CounterMetricFamily(
            "upbitws_duplicates_suppressed",
            "Trades dropped as duplicates (seen live and recovered)",
            value=stats.duplicates_suppressed,
        )
        yield CounterMetricFamily(
            "upbitws_decode_errors", "Frames that failed to decode", value=stats.decode_errors
        )
        dropped = CounterMetricFamily(
            "upbitws_dropped",
            "Messages dropped on queue overflow, per type",
            labels=("type",),
        )
        for type_, n in sorted(stats.dropped.items()):
            dropped.add_metric((type_,), n)
        yield dropped
        yield CounterMetricFamily(
            "upbitws_conflated",
            "Messages replaced by a newer one of the same code while the consumer lagged",
            value=sum(stats.conflated.values()),
        )
        yield GaugeMetricFamily(
            "upbitws_queue_depth", "Items waiting for the consumer", value=stats.queue_depth
        )
        yield self._latency()
        lag = stats.loop_lag
        yield GaugeMetricFamily(
            "upbitws_event_loop_lag_seconds",
            "Worst event-loop lag of the last ~5 s (a blocked loop delays every message)",
            value=math.nan if lag is None else lag,
        )
        firing = GaugeMetricFamily(
            "upbitws_alerts_firing", "1 while the built-in alert fires", labels=("alert",)
        )
        active = monitor.engine.firing
        for name in ALERT_NAMES:
            firing.add_metric((name,), 1.0 if name in active else 0.0)
        yield firing

    def _latency(self) -> HistogramMetricFamily:
        recorder = self.monitor.stream.counters.latency
        cumulative: list[tuple[str, float]] = []
        total = 0
        fine = recorder.buckets()
        i = 0
        for le in LATENCY_BUCKETS:
            bound_ms = le * 1000.0
            # A fine bucket counts under ``le`` when its upper edge is within it (the fine
            # buckets are 5 % wide, so a sample is misplaced by at most that).
            while i < len(fine) and fine[i][0] <= bound_ms * 1.000001:
                total += fine[i][1]
                i += 1
            cumulative.append((repr(le), float(total)))
        cumulative.append(("+Inf", float(recorder.count)))
        return HistogramMetricFamily(
            "upbitws_latency_seconds",
            "Upbit timestamp to receipt, REALTIME messages, time-sampled (<= 2,000/s)",
            buckets=cumulative,
            sum_value=recorder.estimated_sum() / 1000.0,
        )
