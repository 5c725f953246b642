"""The public stream object: one iterator over every subscription, both endpoints.

::

    async with upbitws.connect([upbitws.ticker("KRW-BTC")]) as stream:
        async for message in stream:
            ...

Public types go over ``/websocket/v1``, private types over ``/websocket/v1/private``, one
:class:`~upbitws.client.connection.Connection` each, under one TaskGroup owned by the stream;
leaving the context (or ``aclose()``, or cancellation) closes both with 1000 and awaits every
task. A fatal error or exhausted retries end the iterator by raising the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Self

import aiohttp

from upbitws.client.budget import default_budget
from upbitws.client.buffer import MessageBuffer
from upbitws.client.connection import Connection
from upbitws.client.events import (
    AlertRaised,
    AlertResolved,
    Connected,
    Disconnected,
    ErrorOccurred,
    GapDetected,
    GapFilled,
    GapUnrecoverable,
    LifecycleEvent,
    Reconnected,
    Reconnecting,
)
from upbitws.client.markets import MarketCheck, rest_origin
from upbitws.client.options import StreamOptions
from upbitws.client.recovery import TradeRecovery
from upbitws.client.state import MarketState
from upbitws.client.stats import StatsSnapshot, StreamCounters
from upbitws.client.transport import trace_config
from upbitws.exceptions import (
    ConfigurationError,
    CredentialsError,
    StreamClosedError,
    SubscriptionError,
    UpbitWSError,
)
from upbitws.models import SubscriptionList
from upbitws.protocol.backoff import Backoff
from upbitws.protocol.endpoints import budget_key
from upbitws.protocol.subscriptions import Format, Subscription, SubscriptionSet

if TYPE_CHECKING:
    from types import TracebackType

    from upbitws.models import SubscriptionList
    from upbitws.protocol.backfill import TradeMark

__all__ = ["Stream", "connect"]

log = logging.getLogger("upbitws")
stats_log = logging.getLogger("upbitws.stats")

_EVENT_TYPES: Final = frozenset(
    {
        Connected,
        Disconnected,
        ErrorOccurred,
        GapDetected,
        GapFilled,
        GapUnrecoverable,
        Reconnected,
        Reconnecting,
        AlertRaised,
        AlertResolved,
    }
)

Subscriptions = Subscription | SubscriptionSet | Iterable[Subscription]
EventCallback = Callable[[LifecycleEvent], Any]


def _as_set(subscriptions: Subscriptions, format: Format | str) -> SubscriptionSet:
    if isinstance(subscriptions, SubscriptionSet):
        result = subscriptions.copy()
        result.format = format
        return result
    if isinstance(subscriptions, Subscription):
        subscriptions = [subscriptions]
    return SubscriptionSet(subscriptions, format=format)


class Stream:
    """Typed messages from Upbit, kept flowing across drops; see :func:`connect`."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        *,
        format: Format | str = Format.DEFAULT,
        options: StreamOptions | None = None,
        auth_headers: Callable[[], Mapping[str, str]] | None = None,
        rng: Callable[[], float] | None = None,
        account: str | None = None,
    ) -> None:
        self._desired = _as_set(subscriptions, format)
        if self._desired.is_empty:
            raise SubscriptionError("nothing to subscribe to: pass at least one subscription")
        self.options = options or StreamOptions()
        if not self._desired.private().is_empty and not auth_headers:
            raise CredentialsError(
                "private types (myOrder, myAsset, announcement) need credentials: pass "
                "credentials=upbitws.Credentials(...) or set UPBIT_OPEN_API_ACCESS_KEY and "
                "UPBIT_OPEN_API_SECRET_KEY"
            )
        self._auth_headers = auth_headers
        self._account = account  # non-secret fingerprint: the private connect-budget key
        self._rng = rng or random.random
        self._counters = StreamCounters()
        self._buffer = MessageBuffer(self.options.queue_size, conflate=self.options.conflate)
        self._state = MarketState()
        self._recovery = TradeRecovery(
            options=self.options, buffer=self._buffer, counters=self._counters, state=self._state
        )
        self._markets = MarketCheck(
            rest_origin(self.options.rest_url or self.options.url, self.options.region)
        )
        self._unchecked: str | None = None  # why the market check could not run
        self._callbacks: list[EventCallback] = []
        self._connections: dict[str, Connection] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._ready: asyncio.Event | None = None
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start connecting (``async with`` does this)."""
        if self._runner is not None or self._closed:
            raise StreamClosedError("a stream can be started once")
        # The trace hook keeps a failed upgrade's error body (Upbit's text, a 418 block time).
        self._session = aiohttp.ClientSession(trace_configs=[trace_config()])
        if self.options.check_markets:  # fail fast on what Upbit would silently ignore
            try:
                # REST unreachable: said once a connection opens. If the WebSocket endpoint
                # is wrong too, its fatal error is the one line the user needs.
                self._unchecked = await self._markets.check(self._session, self._desired)
            except BaseException:
                await self.aclose()
                raise
        self._ready = asyncio.Event()
        self._runner = asyncio.create_task(self._run(), name="upbitws-stream")
        await self._ready.wait()

    async def aclose(self) -> None:
        """Close every connection with 1000 and await every task the stream started."""
        if self._closed:
            return
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._buffer.close()

    async def _run(self) -> None:
        error: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for endpoint in self._endpoints():
                    self._start_connection(endpoint)
                group.create_task(self._counters.process.run(), name="upbitws-process")
                if self.options.stats_interval:
                    group.create_task(self._log_stats(self.options.stats_interval))
                if self.options.backfill:
                    assert self._session is not None
                    group.create_task(self._recovery.run(self._session), name="upbitws-backfill")
                assert self._ready is not None
                self._ready.set()
        except* UpbitWSError as group_error:
            error = group_error.exceptions[0]
        except* Exception as group_error:  # a bug of ours: end the stream loudly, never silently
            log.error("upbitws stream failed", exc_info=group_error.exceptions[0])
            error = error or group_error.exceptions[0]
        finally:
            self._group = None
            if self._ready is not None:
                self._ready.set()
            self._buffer.close(error)

    def _opened(self) -> None:
        """A connection opened: the market check's failure is worth a WARNING now."""
        if self._unchecked is not None:
            log.warning("%s", self._unchecked)
            self._unchecked = None

    def _endpoints(self) -> list[str]:
        endpoints = []
        if not self._desired.public().is_empty:
            endpoints.append("public")
        if not self._desired.private().is_empty:
            endpoints.append("private")
        return endpoints

    def _start_connection(self, endpoint: str) -> Connection:
        assert self._group is not None
        assert self._session is not None
        options = self.options
        url = options.public_endpoint if endpoint == "public" else options.private_endpoint
        policy = options.backoff
        if options.max_retries is not None:
            policy = dataclasses.replace(policy, max_retries=options.max_retries)
        desired = self._desired
        conn = Connection(
            endpoint,
            url,
            options=options,
            session=self._session,
            desired=desired.public if endpoint == "public" else desired.private,
            buffer=self._buffer,
            counters=self._counters,
            backoff=Backoff(policy, self._rng),
            headers=self._auth_headers if endpoint == "private" else None,
            recovery=self._recovery,
            state=self._state,
            on_open=self._opened,
            budget=options.connect_budget or default_budget(),
            budget_key=budget_key(url, self._account if endpoint == "private" else None),
        )
        self._connections[endpoint] = conn
        self._group.create_task(conn.run(), name=f"upbitws-{endpoint}")
        return conn

    async def _log_stats(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            stats_log.info("upbitws stats: %s", self.stats().summary())

    # -- iteration --------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if self._runner is None and not self._closed:
            raise StreamClosedError("use the stream inside 'async with' (or call start())")
        buffer = self._buffer
        include_events = self.options.include_events
        while True:
            try:
                item = buffer.get_nowait()
            except IndexError:
                item = await buffer.get()
            if type(item) not in _EVENT_TYPES:
                return item
            for callback in self._callbacks:
                result = callback(item)
                if asyncio.iscoroutine(result):
                    await result
            if include_events:
                return item

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event)`` for every lifecycle event, in order with the messages
        (from the consumer's iteration). Usable as a decorator; may be async."""
        self._callbacks.append(callback)
        return callback

    def emit(self, event: LifecycleEvent) -> None:
        """Queue a lifecycle event for the consumer, in order with the data (used by
        ``upbitws.metrics`` for alert events); it reaches ``on_event`` callbacks and, with
        ``include_events``, the iterator, like the stream's own events."""
        self._buffer.put_event(event)

    # -- runtime changes --------------------------------------------------------------------

    async def subscribe(self, *subscriptions: Subscription) -> None:
        """Add subscriptions; the full set is re-sent (Upbit replaces it on every request)."""
        self._check_open()
        candidate = self._desired.copy()
        candidate.add(*subscriptions)
        if not candidate.private().is_empty and not self._auth_headers:
            raise CredentialsError("private types need credentials (see upbitws.Credentials)")
        if self.options.check_markets and self._session is not None:
            unchecked = await self._markets.check(self._session, subscriptions)
            if unchecked:
                log.warning("%s", unchecked)
        self._desired.add(*subscriptions)
        self._apply()

    async def unsubscribe(self, type_: str, *codes: str) -> None:
        """Remove codes of a type (no codes: the whole type); the rest keeps streaming."""
        self._check_open()
        self._desired.remove(type_, *codes)
        self._apply()

    def _apply(self) -> None:
        for endpoint in self._endpoints():
            conn = self._connections.get(endpoint)
            if conn is None:
                if self._group is None:
                    raise StreamClosedError("the stream has ended")
                self._start_connection(endpoint)
            else:
                conn.resubscribe()
        for endpoint, conn in self._connections.items():
            if endpoint not in self._endpoints():
                conn.resubscribe()  # an empty set sends nothing; the idle socket stays open

    def resume_trades(self, code: str, after: TradeMark, *, known: Iterable[int] = ()) -> None:
        """Continue a trade tape that an earlier run delivered up to ``after``.

        For a restarted recorder or a collector taking over a market: call it before ``code``'s
        trades are subscribed (before entering the stream, or before :meth:`subscribe`). The
        stream announces ``GapDetected(cause="resume")``, fills every trade after ``after``
        from REST as :class:`RecoveredTrade`, then delivers the live ones: the tape continues
        with nothing missing and nothing repeated. ``known`` are ids of the same millisecond
        as ``after`` that were delivered already. Needs ``backfill=True``.
        """
        self._recovery.resume(code, after, known)

    async def list_subscriptions(self, endpoint: str = "public") -> SubscriptionList:
        """What the server says this stream's ``endpoint`` connection is subscribed to."""
        self._check_open()
        conn = self._connections.get(endpoint)
        if conn is None:
            raise ConfigurationError(f"no {endpoint} connection in this stream")
        return await conn.list_subscriptions()

    def _check_open(self) -> None:
        if self._closed or self._runner is None:
            raise StreamClosedError("the stream is not open")

    # -- introspection ----------------------------------------------------------------------

    @property
    def state(self) -> MarketState:
        """Live market state, current even while the consumer lags: ``state.ticker(code)``,
        ``state.orderbook(code)``, ``state.candle("1m", code)``, ``state.trades(code)``."""
        return self._state

    @property
    def subscriptions(self) -> SubscriptionSet:
        """A copy of the desired subscription set."""
        return self._desired.copy()

    @property
    def counters(self) -> StreamCounters:
        """The live counters behind :meth:`stats`, read in place (``upbitws.metrics`` reads
        them at scrape time); treat as read-only."""
        return self._counters

    def stats(self) -> StatsSnapshot:
        """A snapshot of the statistics (see :class:`StatsSnapshot`)."""
        buffer = self._buffer
        return self._counters.snapshot(
            now=time.time(),
            monotonic=time.monotonic(),
            queue_depth=len(buffer),
            conflated=buffer.conflated,
            dropped=buffer.dropped,
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._runner else "new")
        return f"<upbitws.Stream {state} {len(self._desired)} subscriptions>"


def connect(
    subscriptions: Subscriptions,
    *,
    format: Format | str = Format.DEFAULT,
    credentials: Any = None,
    rng: Callable[[], float] | None = None,
    **options: Any,
) -> Stream:
    """A :class:`Stream` over ``subscriptions``; use it as ``async with connect(...) as s``.

    Keyword options are those of :class:`StreamOptions` (``url``, ``private_url``, ``region``,
    ``numbers``, ``ping_interval``, ``pong_timeout``, ``keepalive``, ``data_timeout``,
    ``max_retries``, ``retry_initial_connect``, ``connect_budget``, ...).
    ``credentials`` (an :class:`upbitws.Credentials`) is needed for private types.
    """
    try:
        opts = StreamOptions(**options)
    except TypeError as exc:
        raise ConfigurationError(f"unknown option: {exc}") from exc
    headers = credentials.headers if credentials is not None else None
    account = getattr(credentials, "fingerprint", None) if credentials is not None else None
    return Stream(
        subscriptions,
        format=format,
        options=opts,
        auth_headers=headers,
        rng=rng,
        account=account,
    )
