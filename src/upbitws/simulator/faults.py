"""Fault knobs: what ``POST /_sim/faults`` and ``Simulator.apply_fault`` accept.

=============== ===========================================================================
kind            effect
=============== ===========================================================================
drop            end the connection now: abruptly (no close frame; the client sees 1006), or
                with a close frame when ``code`` is given
close           close with ``code`` (default 1000)
half_open       stop answering pings and stop sending; the socket stays open
silence         keep answering pings, send nothing (no data, no UP, no replies)
malformed       send one frame that is not valid JSON, then continue normally
text_frames     send every following frame as a text frame (opcode 1) instead of binary
reject_upgrade  refuse upgrades with HTTP ``status`` (429 or 418 with ``Retry-After``, or 401)
close_after     close with ``code`` (default 1000) after ``count`` more sent messages
=============== ===========================================================================

``target: "all"`` applies a connection fault to every current connection (``reject_upgrade``:
every upgrade until cleared); ``target: "next"`` applies it to the next ``next_n`` connections
(``reject_upgrade``: the next ``next_n`` upgrade attempts). ``DELETE /_sim/faults`` /
``clear_faults()`` drops pending faults and lifts ongoing modes (half_open, silence,
text_frames, close_after) on live connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CONNECTION_KINDS", "FAULT_KINDS", "Fault", "FaultBook"]

FAULT_KINDS = (
    "drop",
    "close",
    "half_open",
    "silence",
    "malformed",
    "text_frames",
    "reject_upgrade",
    "close_after",
)
CONNECTION_KINDS = frozenset(FAULT_KINDS) - {"reject_upgrade"}
_STATUSES = frozenset({429, 418, 401})


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault; see the module docstring for each field's meaning per kind."""

    kind: str
    code: int | None = None
    status: int = 429
    retry_after: float | None = None
    count: int = 1
    target: str = "all"
    next_n: int = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.code is not None and not 1000 <= self.code <= 4999:
            raise ValueError(f"close code must be 1000..4999, got {self.code}")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be 429, 418 or 401, got {self.status}")
        if self.retry_after is not None and not 0 <= self.retry_after < 1e12:
            raise ValueError("retry_after must be a number of seconds >= 0 (and < 1e12)")
        if self.count < 0:
            raise ValueError("count must be >= 0")
        if self.target not in ("all", "next"):
            raise ValueError(f"target must be 'all' or 'next', got {self.target!r}")
        if self.next_n < 1:
            raise ValueError("next_n must be >= 1")

    @property
    def close_code(self) -> int:
        """The close code for close / close_after (1000 unless given)."""
        return 1000 if self.code is None else self.code

    @property
    def retry_after_header(self) -> str | None:
        """``Retry-After`` for a rejected upgrade: whole seconds, default 1 on 429/418."""
        if self.status == 401:
            return None
        seconds = 1.0 if self.retry_after is None else self.retry_after
        return str(max(0, round(seconds)))

    @classmethod
    def from_json(cls, doc: object) -> Fault:
        """Build from a ``POST /_sim/faults`` body; ``ValueError`` says what is wrong."""
        if not isinstance(doc, dict):
            raise ValueError("fault must be a JSON object")
        unknown = set(doc) - {"kind", "code", "status", "retry_after", "count", "target", "next_n"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = doc.get("kind")
        if not isinstance(kind, str):
            raise ValueError("fault needs a 'kind' string")
        kwargs: dict[str, Any] = {"kind": kind}
        for name in ("code", "status", "count", "next_n"):
            if doc.get(name) is not None:
                value = doc[name]
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{name} must be an integer")
                kwargs[name] = value
        if doc.get("retry_after") is not None:
            value = doc["retry_after"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("retry_after must be a number of seconds")
            kwargs["retry_after"] = float(value)
        if doc.get("target") is not None:
            kwargs["target"] = doc["target"]
        return cls(**kwargs)


class FaultBook:
    """Faults waiting for future upgrades/connections."""

    def __init__(self) -> None:
        self._pending: list[list[Any]] = []  # [fault, remaining uses]
        self._reject_all: Fault | None = None

    def add(self, fault: Fault) -> None:
        """Remember a fault for future upgrades (``target="next"``, or reject_upgrade all)."""
        if fault.kind == "reject_upgrade" and fault.target == "all":
            self._reject_all = fault
        else:
            self._pending.append([fault, fault.next_n])

    def _take(self, upgrade: bool) -> list[Fault]:
        taken: list[Fault] = []
        for entry in self._pending:
            fault: Fault = entry[0]
            if (fault.kind == "reject_upgrade") == upgrade and entry[1] > 0:
                entry[1] -= 1
                taken.append(fault)
        self._pending = [e for e in self._pending if e[1] > 0]
        return taken

    def upgrade_rejection(self) -> Fault | None:
        """The rejection for this upgrade attempt, if any (uses up one 'next' rejection)."""
        taken = self._take(upgrade=True)
        return taken[0] if taken else self._reject_all

    def for_new_connection(self) -> list[Fault]:
        """The connection faults a newly accepted connection starts with."""
        return self._take(upgrade=False)

    def clear(self) -> None:
        self._pending.clear()
        self._reject_all = None

    def pending(self) -> list[dict[str, Any]]:
        """What is waiting, for ``GET /_sim/stats``."""
        out = [{"kind": f.kind, "remaining": n} for f, n in self._pending]
        if self._reject_all is not None:
            out.append({"kind": "reject_upgrade", "remaining": "all"})
        return out
