"""Operations for a stream that runs 24/7 (docs/operations.md): a Prometheus ``/metrics`` and
``/healthz`` endpoint, built-in alerts as lifecycle events, and a webhook for them.

::

    from upbitws import metrics

    async with upbitws.connect(subs) as stream, metrics.serve(stream, port=9464):
        ...                                   # /metrics, /healthz and the alerts

    async with upbitws.connect(subs) as stream, metrics.monitor(stream, webhook=URL):
        ...                                   # alerts only (no prometheus-client needed)

The rules themselves are decided in :mod:`upbitws.protocol.alerts` (sans-I/O).
"""

from __future__ import annotations

from upbitws.metrics.exporter import Exporter, serve
from upbitws.metrics.monitor import AlertSink, Monitor, monitor
from upbitws.metrics.webhook import WebhookSink, redact_url
from upbitws.protocol.alerts import ALERT_NAMES, AlertRules

__all__ = [
    "ALERT_NAMES",
    "AlertRules",
    "AlertSink",
    "Exporter",
    "Monitor",
    "WebhookSink",
    "monitor",
    "redact_url",
    "serve",
]
