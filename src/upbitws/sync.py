"""A blocking facade for scripts (and pyupbit users): the asyncio stream runs on an event loop
in a background thread; iteration blocks the calling thread only.

::

    import upbitws.sync

    with upbitws.sync.connect([upbitws.ticker("KRW-BTC")]) as stream:
        for message in stream:
            print(message.trade_price)

Backpressure is the async stream's: while you are slow, tickers/orderbooks conflate and
trades queue (bounded) in the background; keepalive never depends on your loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from upbitws.client.stream import Stream, Subscriptions
from upbitws.client.stream import connect as async_connect
from upbitws.exceptions import StreamClosedError

if TYPE_CHECKING:
    from concurrent.futures import Future
    from types import TracebackType

    from upbitws.client.stats import StatsSnapshot
    from upbitws.protocol.subscriptions import Subscription

__all__ = ["SyncStream", "connect"]

T = TypeVar("T")


class SyncStream:
    """A :class:`~upbitws.Stream` driven from a background thread; close it (or use ``with``)."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="upbitws-sync", daemon=True
        )
        self._closed = False
        self._thread.start()
        try:
            self._call(stream.start())
        except BaseException:
            self.close()
            raise

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._closed:
            raise StopIteration
        try:
            return self._call(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def subscribe(self, *subscriptions: Subscription) -> None:
        """Add subscriptions (see :meth:`Stream.subscribe`)."""
        self._check()
        self._call(self._stream.subscribe(*subscriptions))

    def unsubscribe(self, type_: str, *codes: str) -> None:
        """Remove subscriptions (see :meth:`Stream.unsubscribe`)."""
        self._check()
        self._call(self._stream.unsubscribe(type_, *codes))

    def stats(self) -> StatsSnapshot:
        return self._stream.stats()

    def _check(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream is closed")

    def close(self) -> None:
        """Close the stream, stop the loop and join the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._loop.is_running():
                asyncio.run_coroutine_threadsafe(self._stream.aclose(), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


def connect(subscriptions: Subscriptions, **kwargs: Any) -> SyncStream:
    """Like :func:`upbitws.connect`, but blocking; same arguments."""
    return SyncStream(async_connect(subscriptions, **kwargs))
