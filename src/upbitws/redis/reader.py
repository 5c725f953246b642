"""Typed messages back out of a collector group's streams, on Redis consumer groups.

::

    async with upbitws.redis.subscribe(
        "redis://127.0.0.1:6379/0", group="prod", types=["trade"], codes=["KRW-BTC"],
        consumer_group="strategy-a", consumer="host-1",
    ) as messages:
        async for message in messages:   # Trade / RecoveredTrade / Ticker / Orderbook
            ...

Every consumer of one consumer group gets a share of the entries (``XREADGROUP``). An entry
is acknowledged (``XACK``) when the consumer comes back for more after it, so an entry a
consumer took and never finished (it died) stays pending; any other consumer of the group
claims such entries once they have been idle ``claim_after`` seconds (``XAUTOCLAIM``) and
yields them: none is lost, though one may be seen twice (at-least-once, as consumer groups
are).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

import msgspec

from upbitws.exceptions import ConfigurationError, StreamClosedError
from upbitws.models import RecoveredTrade
from upbitws.protocol.codec import decode
from upbitws.redis._client import (
    RedisStoreError,
    check_url,
    honour_cancel,
    open_client,
    redis_errors,
)
from upbitws.redis.keys import TYPES, GroupKeys

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["RedisSubscription", "subscribe"]


class RedisSubscription:
    """The iterator :func:`subscribe` returns; ``async with`` it (or call :meth:`aclose`)."""

    def __init__(
        self,
        redis_url: str,
        *,
        group: str,
        types: Iterable[str],
        codes: Iterable[str],
        consumer_group: str,
        consumer: str,
        numbers: str = "decimal",
        start: str = "$",
        claim_after: float = 30.0,
        count: int = 256,
        block: float = 1.0,
    ) -> None:
        self.types = tuple(dict.fromkeys(types))
        self.codes = tuple(dict.fromkeys(c.upper() for c in codes))
        if not self.types or any(t not in TYPES for t in self.types):
            raise ConfigurationError(f"bad types {self.types!r}: use some of {','.join(TYPES)}")
        if not self.codes:
            raise ConfigurationError("name at least one market code")
        if numbers not in ("decimal", "float"):
            raise ConfigurationError(f"numbers must be 'decimal' or 'float', not {numbers!r}")
        if not consumer_group or not consumer:
            raise ConfigurationError("consumer_group and consumer must not be empty")
        GroupKeys(group, 1)  # validates the group name
        check_url(redis_url)
        self.group = group
        self.consumer_group = consumer_group
        self.consumer = consumer
        self._url = redis_url
        self._numbers = numbers
        self._start = start
        self._claim_after_ms = max(1, int(claim_after * 1000))
        self._claim_every = max(claim_after / 2, 0.05)
        self._next_claim = 0.0
        self._count = count
        self._block_ms = max(1, int(block * 1000))
        self._client: Any = None
        self._keys: list[str] = []
        self._ready: deque[tuple[bytes, bytes, Any]] = deque()
        self._delivered: dict[bytes, list[bytes]] = {}
        self._closed = False
        self._errors: tuple[type[BaseException], ...] = ()
        #: Entries this consumer claimed from dead consumers so far.
        self.claimed = 0

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(self, what: str, awaitable: Any) -> Any:
        try:
            result = await awaitable
        except self._errors as exc:
            raise RedisStoreError(f"Redis {what} failed: {type(exc).__name__}: {exc}") from exc
        honour_cancel()
        return result

    async def _open(self) -> None:
        if self._client is not None:
            return
        if self._closed:
            raise StreamClosedError("this Redis subscription is closed")
        self._client = client = open_client(self._url)
        self._errors = redis_errors()
        probe = GroupKeys(self.group, 1)
        shards = await self._call("HGET", client.hget(probe.config, "shards"))
        if shards is None:
            await self.aclose()
            raise RedisStoreError(
                f"no collector group {self.group!r} in Redis at {self._url}: start "
                f"`upbitws collect --group {self.group}` first"
            )
        keys = GroupKeys(self.group, int(shards))
        self._keys = [keys.stream(t, c) for t in self.types for c in self.codes]
        for key in self._keys:
            try:
                await client.xgroup_create(key, self.consumer_group, self._start, mkstream=True)
            except self._errors as exc:
                if "BUSYGROUP" not in str(exc):  # the group exists already: join it
                    raise RedisStoreError(f"XGROUP CREATE {key}: {exc}") from exc

    async def aclose(self) -> None:
        """Acknowledge what was yielded and close the connection."""
        if self._closed:
            return
        self._closed = True
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await self._ack(client)
        finally:
            await client.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        if self._closed:
            raise StopAsyncIteration
        await self._open()
        while not self._ready:
            await self._ack(self._client)
            await self._fetch()
        key, entry_id, message = self._ready.popleft()
        self._delivered.setdefault(key, []).append(entry_id)
        return message

    async def _ack(self, client: Any) -> None:
        if not self._delivered:
            return
        delivered, self._delivered = self._delivered, {}
        pipe = client.pipeline(transaction=False)
        for key, ids in delivered.items():
            pipe.xack(key, self.consumer_group, *ids)
        await self._call("XACK", pipe.execute())

    async def _fetch(self) -> None:
        client = self._client
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + self._claim_every
            for key in self._keys:
                reply = await self._call(
                    "XAUTOCLAIM",
                    client.xautoclaim(
                        key,
                        self.consumer_group,
                        self.consumer,
                        self._claim_after_ms,
                        "0-0",
                        count=self._count,
                    ),
                )
                entries = reply[1]
                self.claimed += len(entries)
                self._take(key.encode(), entries)
            if self._ready:
                return
        reply = await self._call(
            "XREADGROUP",
            client.xreadgroup(
                self.consumer_group,
                self.consumer,
                dict.fromkeys(self._keys, ">"),
                count=self._count,
                block=self._block_ms,
            ),
        )
        for key, entries in reply or ():
            self._take(key, entries)

    def _take(self, key: bytes, entries: list[Any]) -> None:
        for entry_id, fields in entries:
            if not fields:  # trimmed away while pending: nothing to deliver, just ack it
                self._delivered.setdefault(key, []).append(entry_id)
                continue
            (message,) = decode(fields[b"m"], numbers=self._numbers)  # type: ignore[call-overload]
            if fields.get(b"src") == b"rest":
                message = RecoveredTrade(**msgspec.structs.asdict(message))
            self._ready.append((key, entry_id, message))


def subscribe(
    redis_url: str,
    *,
    group: str,
    types: Iterable[str],
    codes: Iterable[str],
    consumer_group: str,
    consumer: str,
    numbers: str = "decimal",
    start: str = "$",
    claim_after: float = 30.0,
) -> RedisSubscription:
    """Typed messages of ``types`` × ``codes`` from collector group ``group`` in Redis, as a
    member ``consumer`` of consumer group ``consumer_group`` (created at ``start``: ``"$"``
    new entries only, ``"0"`` everything kept). See the module docstring."""
    return RedisSubscription(
        redis_url,
        group=group,
        types=types,
        codes=codes,
        consumer_group=consumer_group,
        consumer=consumer,
        numbers=numbers,
        start=start,
        claim_after=claim_after,
    )
