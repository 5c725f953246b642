"""``/healthz``: is the stream delivering? (docs/operations.md "/healthz")

Healthy when every endpoint of the stream is open and each subscribed public type delivered
data within ``data_timeout`` (StreamOptions; ``None``: only the connections count). A type
counts from when it was first seen subscribed, so a fresh subscription has ``data_timeout``
to deliver its first message. Pong timeouts close a half-open connection (liveness), so a
dead link turns the answer to 503 within ``pong_timeout`` plus the monitor's interval.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from upbitws.metrics.monitor import Monitor

__all__ = ["health"]


def health(monitor: Monitor) -> tuple[bool, dict[str, Any]]:
    """``(healthy, body)``; the body says the state of each endpoint and every reason."""
    monitor.check()  # refresh the per-type activity before judging
    stream = monitor.stream
    stats = stream.stats()
    now = time.time()
    reasons: list[str] = []
    endpoints: dict[str, Any] = {}
    for conn in stats.connections:
        endpoints[conn.endpoint] = {
            "state": conn.state,
            "connected_at": conn.connected_at,
            "reconnects": conn.reconnections,
            "last_error": conn.last_error.split(":", 1)[0] if conn.last_error else None,
        }
        if conn.state != "open":
            reasons.append(f"{conn.endpoint} endpoint is {conn.state}")
    if not stats.connections:
        reasons.append("no connection yet")
    timeout = stream.options.data_timeout
    last = monitor.last_data()
    watch_from = monitor.watch_from()
    types: dict[str, Any] = {}
    for type_, start in sorted(watch_from.items()):
        seen = last.get(type_)
        quiet = now - max(seen if seen is not None else start, start)
        types[type_] = {"last_message_at": seen, "silent_seconds": round(quiet, 3)}
        if timeout is not None and quiet > timeout:
            reasons.append(f"no {type_} data for {quiet:.1f}s (data_timeout {timeout}s)")
    body = {
        "status": "ok" if not reasons else "unhealthy",
        "reasons": reasons,
        "endpoints": endpoints,
        "types": types,
        "data_timeout": timeout,
        "alerts_firing": sorted(monitor.engine.firing),
    }
    return not reasons, body
