"""Counters behind ``GET /_sim/stats`` and ``Simulator.stats()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Stats"]


@dataclass(slots=True)
class Stats:
    """Server-wide counters (the live connection and subscription counts are added on read)."""

    connections_total: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    errors_sent: int = 0
    rejected_upgrades: int = 0
    rate_limited: int = 0
    #: Upgrades answered 418 (blocked after repeated 429s, ``block_after_429s``).
    blocked_upgrades: int = 0
    idle_timeouts: int = 0
    slow_consumers: int = 0
    #: Slow consumers cut because all queues together passed ``send_budget_bytes``.
    send_budget_cuts: int = 0
    rest_requests: int = 0
    #: Control requests refused (non-loopback Host or Origin, token, Content-Type).
    control_refused: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
