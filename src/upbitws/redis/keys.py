"""Key names of a collector group (docs/scale-out.md "Layout").

Every key of one shard carries the hash tag ``{upbitws:GROUP:SHARD}``, so on Redis Cluster a
shard's lease, fencing counter, streams, dedupe sets and latest-value hashes share one hash
slot: the scripts that check the fencing token and append (one per type and code) touch
keys of one slot only. Group-wide keys (configuration, members, log, connect budget) carry
``{upbitws:GROUP}``.

* ``{upbitws:G:S}:lease`` / ``:fence`` - the shard's lease (``OWNER/TOKEN``) and counter
* ``{upbitws:G:S}:trade:CODE`` - one Stream per type and code (also ticker, orderbook)
* ``{upbitws:G:S}:seen:CODE`` - bounded dedupe set of trade ``sequential_id`` (by time)
* ``{upbitws:G:S}:latest:TYPE`` - hash code -> the latest ticker / orderbook message
* ``{upbitws:G}:config`` / ``:members`` / ``:log`` / ``:budget:KEY``
"""

from __future__ import annotations

from dataclasses import dataclass

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.shards import shard_of

__all__ = ["PLAIN_TYPES", "TYPES", "GroupKeys"]

#: Types a collector stores; ``trade`` is exactly-once, the others append plus a latest value.
TYPES = ("trade", "ticker", "orderbook")
PLAIN_TYPES = ("ticker", "orderbook")


@dataclass(frozen=True, slots=True)
class GroupKeys:
    """Key names for ``group`` split into ``shards`` shards."""

    group: str
    shards: int
    prefix: str = "upbitws"

    def __post_init__(self) -> None:
        if not self.group or any(c in self.group for c in "{}: \t\n"):
            raise ConfigurationError(
                f"bad group name {self.group!r}: use letters, digits, '-', '_' or '.'"
            )

    def _tag(self, shard: int) -> str:
        return f"{{{self.prefix}:{self.group}:{shard}}}"

    @property
    def _group(self) -> str:
        return f"{{{self.prefix}:{self.group}}}"

    def shard(self, code: str) -> int:
        return shard_of(code, self.shards)

    def lease(self, shard: int) -> str:
        return f"{self._tag(shard)}:lease"

    def fence(self, shard: int) -> str:
        return f"{self._tag(shard)}:fence"

    def stream(self, type_: str, code: str) -> str:
        return f"{self._tag(self.shard(code))}:{type_}:{code}"

    def seen(self, code: str) -> str:
        return f"{self._tag(self.shard(code))}:seen:{code}"

    def latest(self, type_: str, code: str) -> str:
        return f"{self._tag(self.shard(code))}:latest:{type_}"

    @property
    def config(self) -> str:
        return f"{self._group}:config"

    @property
    def members(self) -> str:
        return f"{self._group}:members"

    @property
    def log(self) -> str:
        return f"{self._group}:log"

    def budget(self, key: str) -> str:
        return f"{self._group}:budget:{key}"
