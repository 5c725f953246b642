"""Shards and leases of a collector group (docs/scale-out.md), sans-I/O.

A group of collectors shares the markets of one Upbit feed. The decisions live here, with the
time as an input; ``upbitws.redis`` only carries them out against Redis.

* **Shards.** A market belongs to shard ``crc32(code) % shards`` (:func:`shard_of`): stable
  across processes, hosts and Python versions (``hash()`` is salted per process).
* **Balance.** :func:`assign` spreads the shards over the live members: every member gets
  ``shards // n`` or one more; which member gets which shard is decided by rendezvous
  hashing (highest ``crc32(member/shard)`` with room left), so every collector computes the
  same table from the same member set, and a member joining or leaving moves few shards.
* **Leases.** :class:`LeaseKeeper` is one collector's view of the leases it holds: when to
  renew, when a lease must be considered lost (its local deadline passed: a process paused
  past its TTL never trusts a lease it cannot prove), which free shards to take and which to
  hand over. Redis is the authority (``SET NX PX`` plus a fencing token that every write
  checks); the keeper's deadlines only make a collector stop early, never write late.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from upbitws.exceptions import ConfigurationError

__all__ = ["LeaseKeeper", "LeasePlan", "assign", "partition", "shard_of"]


def shard_of(code: str, shards: int) -> int:
    """The shard of market ``code`` among ``shards`` (stable everywhere)."""
    return zlib.crc32(code.encode()) % shards


def partition(codes: Iterable[str], shards: int) -> dict[int, tuple[str, ...]]:
    """Every shard (including empty ones) with its markets, sorted."""
    table: dict[int, list[str]] = {shard: [] for shard in range(shards)}
    for code in sorted(set(codes)):
        table[shard_of(code, shards)].append(code)
    return {shard: tuple(codes) for shard, codes in table.items()}


def _weight(member: str, shard: int) -> int:
    return zlib.crc32(f"{member}/{shard}".encode())


def assign(shards: int, members: Iterable[str]) -> dict[str, frozenset[int]]:
    """Balanced, deterministic shard table for the live ``members``.

    Each member gets ``shards // n`` shards or one more (the first ``shards % n`` members in
    sorted order get the extra one); each shard goes to its highest-weight member with room.
    """
    ordered = sorted(set(members))
    if not ordered:
        return {}
    base, extra = divmod(shards, len(ordered))
    room = {m: base + (1 if i < extra else 0) for i, m in enumerate(ordered)}
    table: dict[str, set[int]] = {m: set() for m in ordered}
    for shard in range(shards):
        ranked = sorted(ordered, key=lambda m: (-_weight(m, shard), m))
        owner = next(m for m in ranked if room[m] > 0)
        room[owner] -= 1
        table[owner].add(shard)
    return {m: frozenset(s) for m, s in table.items()}


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """What a collector does on one tick (every field sorted)."""

    #: Free shards to take (``SET NX PX`` and a new fencing token).
    acquire: tuple[int, ...] = ()
    #: Held shards to renew (only while the token is still the lease's value).
    renew: tuple[int, ...] = ()
    #: Held shards to hand over to their balanced owner (delete the lease if still ours).
    release: tuple[int, ...] = ()
    #: Held shards that are no longer ours (taken by another, expired, or past the local
    #: deadline): stop collecting them now, without touching Redis.
    lost: tuple[int, ...] = ()


@dataclass(slots=True)
class LeaseKeeper:
    """One collector's leases; ``now`` is the caller's monotonic clock in seconds.

    Tick at least every :attr:`renew_every` seconds: :meth:`plan` with what Redis reports
    (live members and each shard's current owner), perform the plan, then report the
    outcome with :meth:`acquired`, :meth:`renewed`, :meth:`released` or :meth:`drop`.
    """

    me: str
    shards: int
    ttl: float
    #: Extra seconds a free shard waits for its balanced owner before anyone may take it.
    orphan_after: float | None = None
    _deadline: dict[int, float] = field(default_factory=dict)
    _free_since: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigurationError(f"shards must be at least 1, got {self.shards!r}")
        if not self.ttl > 0:
            raise ConfigurationError(f"the lease TTL must be > 0 seconds, got {self.ttl!r}")
        if self.orphan_after is None:
            self.orphan_after = self.ttl

    @property
    def renew_every(self) -> float:
        """Seconds between ticks: a third of the TTL, so two renewals may fail in a row."""
        return self.ttl / 3

    @property
    def held(self) -> frozenset[int]:
        """The shards this collector holds now."""
        return frozenset(self._deadline)

    def valid(self, shard: int, now: float) -> bool:
        """Whether ``shard`` is held and its local deadline has not passed."""
        deadline = self._deadline.get(shard)
        return deadline is not None and now < deadline

    def plan(
        self, now: float, members: Iterable[str], owners: Mapping[int, str | None]
    ) -> LeasePlan:
        """The actions of one tick.

        ``members``: the live members of the group as Redis reports them (this collector is
        added if missing); ``owners``: each shard's lease owner now (``None``: free).
        """
        live = {*members, self.me}
        mine = assign(self.shards, live)[self.me]
        acquire: list[int] = []
        renew: list[int] = []
        release: list[int] = []
        lost: list[int] = []
        for shard in range(self.shards):
            owner = owners.get(shard)
            if shard in self._deadline:
                if owner != self.me or not self.valid(shard, now):
                    lost.append(shard)
                elif shard in mine:
                    renew.append(shard)
                else:
                    release.append(shard)
                continue
            if owner is not None:
                self._free_since.pop(shard, None)
                continue
            since = self._free_since.setdefault(shard, now)
            assert self.orphan_after is not None
            if shard in mine or now - since >= self.orphan_after:
                acquire.append(shard)
        return LeasePlan(tuple(acquire), tuple(renew), tuple(release), tuple(lost))

    def acquired(self, shard: int, sent_at: float) -> None:
        """Redis granted ``shard``; ``sent_at`` is when the request was sent (the lease's
        expiry in Redis is at least ``ttl`` after that)."""
        self._deadline[shard] = sent_at + self.ttl
        self._free_since.pop(shard, None)

    def renewed(self, shard: int, sent_at: float) -> None:
        """Redis extended ``shard`` by a request sent at ``sent_at``."""
        if shard in self._deadline:
            self._deadline[shard] = sent_at + self.ttl

    def drop(self, shard: int) -> None:
        """``shard`` is no longer held (lost, refused on renewal, or released)."""
        self._deadline.pop(shard, None)

    released = drop

    def next_tick(self, now: float) -> float:
        """When to tick next: after :attr:`renew_every`, or at the earliest deadline."""
        soonest = now + self.renew_every
        for deadline in self._deadline.values():
            soonest = min(soonest, deadline)
        return soonest
