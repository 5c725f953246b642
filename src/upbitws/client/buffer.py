"""The bounded buffer between the socket readers and the consumer (never block the reader).

The reader never waits for the consumer: ``put`` never blocks. Policies per type:

* ticker, orderbook, candle.* — **conflate**: while the consumer lags, only the latest message
  per (type, code) waits, in the position its first pending message took. A consumer that
  keeps up sees every message; nothing is conflated.
* trade, myOrder, myAsset, announcement (everything when ``conflate=False``) — **queue**:
  FIFO, bounded by ``queue_size``. On
  overflow the incoming message is dropped, counted, and a :class:`GapDetected` event is queued
  (once per (type, code) until the queue drains) so the loss is never silent.

Lifecycle events are queued too and never dropped; they are few by construction.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final

from upbitws.client.events import GapDetected
from upbitws.models import Candle, Orderbook, Ticker

__all__ = ["MessageBuffer"]

_CONFLATE_BASES: Final = (Ticker, Orderbook, Candle)
_CLOSED: Final = object()


class _Event:
    """Wraps a lifecycle event in the item deque (tells it apart from queued messages)."""

    __slots__ = ("event",)

    def __init__(self, event: object) -> None:
        self.event = event


class MessageBuffer:
    """Single-consumer buffer; ``put`` is the hot path (called once per decoded message)."""

    __slots__ = (
        "_conflate",
        "_conflate_classes",
        "_error",
        "_items",
        "_latest",
        "_overflowing",
        "_queued",
        "_waiter",
        "closed",
        "conflated",
        "dropped",
        "queue_size",
    )

    def __init__(self, queue_size: int = 10_000, *, conflate: bool = True) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self._conflate = conflate
        self._items: deque[Any] = deque()
        self._latest: dict[tuple[type, str], Any] = {}
        self._conflate_classes: dict[type, bool] = {}
        self._queued = 0  # queue-policy messages waiting
        self._overflowing: set[tuple[str, str]] = set()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self.closed = False
        self.conflated: dict[str, int] = {}
        self.dropped: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _conflates(self, cls: type) -> bool:
        policy = self._conflate_classes.get(cls)
        if policy is None:
            policy = self._conflate and issubclass(cls, _CONFLATE_BASES)
            self._conflate_classes[cls] = policy
        return policy

    def put(self, message: Any) -> None:
        """Add a data message; never blocks (see the module docstring for policies)."""
        cls = type(message)
        if self._conflates(cls):
            key = (cls, message.code)
            latest = self._latest
            if key in latest:
                latest[key] = message
                name = message.type
                self.conflated[name] = self.conflated.get(name, 0) + 1
                return
            latest[key] = message
            self._items.append(key)
        else:
            if self._queued >= self.queue_size:
                self._overflow(message)
                return
            self._queued += 1
            self._items.append(message)
        self._wake()

    def _overflow(self, message: Any) -> None:
        name = message.type
        self.dropped[name] = self.dropped.get(name, 0) + 1
        gap_key = (name, getattr(message, "code", ""))
        if gap_key not in self._overflowing:
            self._overflowing.add(gap_key)
            gap = GapDetected(name, gap_key[1], "overflow", message.timestamp)
            self._items.append(_Event(gap))
            self._wake()

    @property
    def queued(self) -> int:
        """Queue-policy messages waiting (trades, private types); at most ``queue_size``
        except right after :meth:`put_unbounded`."""
        return self._queued

    def put_unbounded(self, message: Any) -> None:
        """Queue a message past the bound: for trade backfill, whose recovered and
        held trades are already in memory and bounded by their own limits."""
        self._queued += 1
        self._items.append(message)
        self._wake()

    def put_event(self, event: object) -> None:
        """Add a lifecycle event; events are never dropped or conflated."""
        self._items.append(_Event(event))
        self._wake()

    def close(self, error: BaseException | None = None) -> None:
        """No more items; the consumer drains what is queued, then gets ``error`` (or the end)."""
        if not self.closed:
            self.closed = True
            self._error = error
            self._items.append(_CLOSED)
            self._wake()

    def get_nowait(self) -> Any:
        """The next item, or raise ``IndexError`` when empty."""
        item = self._items.popleft()
        if type(item) is tuple:
            return self._latest.pop(item)
        if item is _CLOSED:
            self._items.appendleft(item)  # stay closed for later callers
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        if type(item) is _Event:
            return item.event
        self._queued -= 1
        if self._overflowing and self._queued == 0:
            self._overflowing.clear()  # room again: the next drop opens a new gap
        return item

    async def get(self) -> Any:
        """Wait for the next item; raises the close error or ``StopAsyncIteration`` at the end."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.get_nowait()
