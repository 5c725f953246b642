"""One endpoint's connection, kept alive for as long as the stream lives (issue 4 §2–§4).

Per connection three tasks, all owned by a TaskGroup: the **reader** (frames → models →
buffer; it never waits for the consumer), the **keepalive** (pings and the data watchdog,
driven by the sans-I/O :class:`Liveness`), and the **sender** (the full subscription request
whenever the desired set changed, coalesced under Upbit's message limit of 5/s and 100/min,
protocol §7). Around them the reconnect loop: connect limit 5/s, capped full-jitter backoff
reset only after a stable connection, Retry-After honoured, fatal errors never retried, and
the whole subscription set re-sent as one request on every (re)connect (design §4.2).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp

from upbitws.client.buffer import MessageBuffer
from upbitws.client.events import (
    Connected,
    Disconnected,
    ErrorOccurred,
    Reconnected,
    Reconnecting,
)
from upbitws.client.options import StreamOptions
from upbitws.client.recovery import TradeRecovery
from upbitws.client.state import MarketState
from upbitws.client.stats import StreamCounters
from upbitws.client.transport import open_websocket
from upbitws.exceptions import (
    ConnectionFailedError,
    ConnectionLostError,
    FatalError,
    MessageDecodeError,
    RetriesExhaustedError,
    UpbitWSError,
)
from upbitws.models import ErrorFrame, StatusFrame, StreamType, SubscriptionList
from upbitws.protocol.backoff import Backoff
from upbitws.protocol.codec import Decoder
from upbitws.protocol.errors import error_from_close, error_from_frame
from upbitws.protocol.liveness import Dead, Liveness, LivenessPolicy, Probe, SendPing, Stalled
from upbitws.protocol.ratelimit import SlidingWindowLimiter
from upbitws.protocol.subscriptions import (
    SubscriptionSet,
    render_list_subscriptions,
    render_request,
)

__all__ = ["Connection"]

log = logging.getLogger("upbitws.connection")

_DATA: Final = (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
#: websocket-message limit per connection (protocol §7).
MESSAGE_WINDOWS: Final = ((5, 1.0), (100, 60.0))
#: Minimum seconds between two latency samples (see ``_handle_frame``).
LATENCY_SAMPLE_EVERY: Final = 0.0005
#: Outbox marker: send the desired set as it is when the marker's turn comes.
_RESEND: Final = object()
_TRADE_TYPES: Final = frozenset({"trade"})


class Connection:
    """The connection to one endpoint (``"public"`` or ``"private"``) of a stream."""

    def __init__(
        self,
        endpoint: str,
        url: str,
        *,
        options: StreamOptions,
        session: aiohttp.ClientSession,
        desired: Callable[[], SubscriptionSet],
        buffer: MessageBuffer,
        counters: StreamCounters,
        connect_limiter: SlidingWindowLimiter,
        backoff: Backoff,
        headers: Callable[[], Mapping[str, str]] | None = None,
        recovery: TradeRecovery | None = None,
        state: MarketState | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.url = url
        self._options = options
        self._session = session
        self._desired = desired
        self._buffer = buffer
        self._counters = counters
        self._stats = counters.connection(endpoint)
        self._connect_limiter = connect_limiter
        self._backoff = backoff
        self._headers = headers
        self._decoder = Decoder(options.numbers)
        self._message_limiter = SlidingWindowLimiter(MESSAGE_WINDOWS)
        self._wake_sender = asyncio.Event()
        self._resend = False
        self._outbox: deque[bytes | str | object] = deque()
        self._list_waiters: deque[asyncio.Future[SubscriptionList]] = deque()
        self._cause: UpbitWSError | None = None
        self._liveness = Liveness(
            LivenessPolicy(
                ping_interval=options.ping_interval,
                pong_timeout=options.pong_timeout,
                mode=options.keepalive,
                data_timeout=options.data_timeout if endpoint == "public" else None,
                probe_timeout=options.probe_timeout,
            )
        )
        self._names: dict[type, str] = {}
        # Issue 6: trades go through dedupe / gap handling, other data updates the state.
        # The stream passes its own (whose run() closes the gaps); a bare Connection gets
        # one without backfill, so nothing waits on a worker that never runs.
        self._state = state if state is not None else MarketState()
        if recovery is None:
            bare = dataclasses.replace(options, backfill=False)
            recovery = TradeRecovery(
                options=bare, buffer=buffer, counters=counters, state=self._state
            )
        self._recovery = recovery
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._latency_due = 0.0

    # -- public -----------------------------------------------------------------------------

    def resubscribe(self) -> None:
        """The desired set changed: send it (coalesced with other changes)."""
        if not self._resend:  # one queued resend carries every change made before it is sent
            self._resend = True
            self._outbox.append(_RESEND)
        self._wake_sender.set()

    async def list_subscriptions(self, wait: float = 5.0) -> SubscriptionList:
        """Ask the server what this connection is subscribed to (LIST_SUBSCRIPTIONS)."""
        future: asyncio.Future[SubscriptionList] = asyncio.get_running_loop().create_future()
        self._list_waiters.append(future)
        self._outbox.append(render_list_subscriptions(str(uuid.uuid4())))
        self._wake_sender.set()
        try:
            async with asyncio.timeout(wait):
                return await future
        finally:
            if future in self._list_waiters:
                self._list_waiters.remove(future)

    async def run(self) -> None:
        """Connect, serve, reconnect, until cancelled; raise fatal errors and
        :class:`RetriesExhaustedError`."""
        attempt = 0
        dropped_at: float | None = None
        while True:
            await self._respect_connect_limit()
            self._stats.state = "connecting"
            self._stats.attempts += 1
            cause: UpbitWSError
            headers = self._headers() if self._headers else None
            log.debug(
                "%s: opening %s (headers: %s)", self.endpoint, self.url, sorted(headers or ())
            )  # header names only: the values carry the token
            try:
                ws = await open_websocket(
                    self._session,
                    self.url,
                    headers=headers,
                    handshake_timeout=self._options.handshake_timeout,
                    compression=self._options.compression,
                    max_msg_size=self._options.max_msg_size,
                )
            except FatalError as exc:
                self._fail(exc)
                raise
            except ConnectionFailedError as exc:
                cause = exc
                self._report(exc)
                self._buffer.put_event(ErrorOccurred(self.endpoint, exc, False, time.time()))
            else:
                cause = await self._serve(ws, attempt, dropped_at)
                dropped_at = time.time()
                self._buffer.put_event(Disconnected(self.endpoint, cause, dropped_at))
                self._backoff.disconnected(time.monotonic())
                self._open_gaps(dropped_at)
            attempt += 1
            delay = self._backoff.next_delay(cause.retry_after)
            if self._backoff.exhausted:
                error = RetriesExhaustedError(
                    f"{self.endpoint} connection to {self.url} failed {self._backoff.attempt} "
                    f"times in a row (max_retries); last error: {cause}"
                )
                error.__cause__ = cause
                self._fail(error)
                raise error
            self._stats.state = "backoff"
            self._buffer.put_event(Reconnecting(self.endpoint, attempt, delay, cause))
            log.info(
                "%s: reconnecting in %.2fs (attempt %d): %s", self.endpoint, delay, attempt, cause
            )
            await asyncio.sleep(delay)

    # -- one connection ---------------------------------------------------------------------

    async def _respect_connect_limit(self) -> None:
        delay = self._connect_limiter.delay(time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)
        self._connect_limiter.record(time.monotonic())

    async def _serve(
        self, ws: aiohttp.ClientWebSocketResponse, attempt: int, dropped_at: float | None
    ) -> UpbitWSError:
        """Serve one open connection until it ends; return why (raise if fatal)."""
        self._ws = ws
        self._cause = None
        self._message_limiter.clear()
        self._outbox.clear()  # the subscription sent below carries every queued change
        self._resend = False
        now = time.monotonic()
        stats = self._stats
        self._backoff.connected(now)
        self._liveness.opened(now)
        stats.state = "open"
        stats.connects += 1
        stats.connected_at = time.time()
        stats.connected_monotonic = now
        if stats.first_connected_at is None:
            stats.first_connected_at = stats.connected_at
        if attempt:
            stats.reconnections += 1
        try:
            if self._options.keepalive == "status":
                await self._send("PING")  # before the subscription (liveness docstring)
                self._liveness.ping_sent(time.monotonic())
            await self._send_subscription()
            self._liveness.subscribed(time.monotonic(), watch=self._watch())
            if dropped_at is None:
                event: Any = Connected(self.endpoint, self.url, stats.connected_at, attempt)
            else:
                downtime = stats.connected_at - dropped_at
                event = Reconnected(self.endpoint, self.url, stats.connected_at, downtime)
            self._buffer.put_event(event)
            self._recovery.connection_ready(self.endpoint, self._desired().keys())
            log.info("%s: connected to %s (attempt %d)", self.endpoint, self.url, attempt)
            async with asyncio.TaskGroup() as tg:
                keepalive = tg.create_task(self._keepalive(ws))
                sender = tg.create_task(self._sender(ws))
                await self._reader(ws)
                keepalive.cancel()
                sender.cancel()
        except* (ConnectionResetError, aiohttp.ClientError) as group:
            # except*: the TaskGroup above wraps a ping or send that hit a closing transport
            # in an ExceptionGroup, which a plain except never matched (the stream then died).
            exc = group.exceptions[0]
            self._set_cause(ConnectionLostError(f"connection lost while sending: {exc}"))
        finally:
            self._ws = None
            stats.connected_at = None
            stats.connected_monotonic = None
            stats.state = "closed"
            await self._close(ws)
            for waiter in self._list_waiters:
                if not waiter.done():
                    waiter.set_exception(ConnectionLostError("connection closed before reply"))
        cause = self._cause or error_from_close(ws.close_code)
        if isinstance(cause, FatalError):
            self._fail(cause)
            raise cause
        self._report(cause)  # the caller announces it as Disconnected(cause)
        return cause

    def _watch(self) -> bool:
        return self.endpoint == "public" and not self._desired().is_empty

    async def _close(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if ws.closed:
            return
        try:
            async with asyncio.timeout(self._options.close_timeout):
                await ws.close(code=aiohttp.WSCloseCode.OK)
        except TimeoutError:
            pass  # aiohttp closed the transport when the wait was cancelled

    def _set_cause(self, cause: UpbitWSError) -> None:
        if self._cause is None:
            self._cause = cause

    async def _reader(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        handle = self._handle_frame
        liveness = self._liveness
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind in _DATA:
                handle(msg.data)
            elif kind is aiohttp.WSMsgType.PONG:
                liveness.pong_received(time.monotonic())
            elif kind is aiohttp.WSMsgType.PING:
                liveness.pong_received(time.monotonic())
                await ws.pong(msg.data)
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                if kind is aiohttp.WSMsgType.ERROR:
                    self._set_cause(ConnectionLostError(f"connection error: {msg.data}"))
                self._set_cause(error_from_close(ws.close_code, str(msg.extra or "")))
                return

    def _handle_frame(self, data: bytes | str) -> None:
        """Hot path: one frame → typed messages → buffer."""
        counters = self._counters
        counters.frames_received += 1
        counters.bytes_received += len(data)
        try:
            messages = self._decoder.decode(data)
        except MessageDecodeError as exc:
            counters.decode_errors += 1
            log.warning("%s: skipped a malformed frame: %s", self.endpoint, exc)
            return
        now = time.monotonic()
        now_ms = time.time() * 1000.0
        received = counters.received
        names = self._names
        put = self._buffer.put
        on_trade = self._recovery.on_trade
        update = self._state.update
        data_seen = False
        for message in messages:
            cls = type(message)
            name = names.get(cls)
            if name is None:
                if cls is StatusFrame or cls is ErrorFrame or cls is SubscriptionList:
                    self._control(message, now)
                    continue
                name = names[cls] = message.type
            received[name] = received.get(name, 0) + 1
            if now >= self._latency_due and message.stream_type is StreamType.REALTIME:
                # Time-sampled (at most one sample per LATENCY_SAMPLE_EVERY s): every message at
                # Upbit's real rates, bounded cost at benchmark rates (the histogram was 20% of
                # the per-message time at 300k msgs/s).
                counters.latency.record(now_ms - message.timestamp)
                self._latency_due = now + LATENCY_SAMPLE_EVERY
            if name in _TRADE_TYPES:
                on_trade(message)  # dedupe, gaps (issue 6)
            else:
                update(message)  # live state, current even when the consumer lags
                put(message)
            data_seen = True
        if data_seen:
            self._liveness.data_received(now)

    def _control(self, message: Any, now: float) -> None:
        if isinstance(message, StatusFrame):
            self._liveness.pong_received(now)
        elif isinstance(message, ErrorFrame):
            error = error_from_frame(message.error.name, message.error.message)
            log.warning("%s: server error frame %s", self.endpoint, message.error.name)
            self._set_cause(error)  # the server closes with 1000 next (protocol §6)
        else:
            self._liveness.pong_received(now)
            while self._list_waiters:
                waiter = self._list_waiters.popleft()
                if not waiter.done():
                    waiter.set_result(message)
                    break

    async def _keepalive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        liveness = self._liveness
        while True:
            now = time.monotonic()
            action = liveness.poll(now)
            if action is None:
                deadline = liveness.next_deadline(now)
                await asyncio.sleep(1.0 if deadline is None else max(deadline - now, 0.0))
                continue
            if isinstance(action, SendPing):
                if self._options.keepalive == "ping":
                    await ws.ping()
                else:
                    self._outbox.append("PING")
                    self._wake_sender.set()
                liveness.ping_sent(now)
            elif isinstance(action, Probe):
                log.info(
                    "%s: no data for %ss; re-sending the subscription",
                    self.endpoint,
                    self._options.data_timeout,
                )
                liveness.probe_sent(now)
                self.resubscribe()
            elif isinstance(action, Dead | Stalled):
                # The reader may hold frames that prove life (a blocked loop delays it): let it
                # run once before judging.
                await asyncio.sleep(0)
                if liveness.poll(time.monotonic()) != action:
                    continue
                log.warning("%s: %s; reconnecting", self.endpoint, action.reason)
                self._set_cause(action.error())
                await self._close(ws)
                return

    async def _sender(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await self._wake_sender.wait()
            self._wake_sender.clear()
            while self._outbox:  # in call order: a LIST after a change sees the change
                delay = self._message_limiter.delay(time.monotonic())
                if delay > 0:
                    await asyncio.sleep(delay)  # changes made meanwhile coalesce into one send
                item = self._outbox.popleft()
                if item is _RESEND:
                    await self._send_subscription()
                elif isinstance(item, bytes | str):
                    await self._send(item)

    async def _send_subscription(self) -> None:
        self._resend = False
        desired = self._desired()
        if desired.is_empty:
            return  # nothing to ask for; Upbit sends nothing until a request (protocol §2.2)
        self._recovery.subscription_sent(self.endpoint, desired.keys())
        await self._send(render_request(desired, str(uuid.uuid4())))

    async def _send(self, payload: bytes | str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        self._message_limiter.record(time.monotonic())
        text = payload if isinstance(payload, str) else payload.decode()
        log.debug("%s: sending %s", self.endpoint, text)
        await ws.send_str(text)  # requests are text frames (protocol §2.3)
        self._stats.messages_sent += 1

    # -- bookkeeping ------------------------------------------------------------------------

    def _open_gaps(self, at: float) -> None:
        """Everything subscribed may be missing from the drop on: announce it; trade gaps
        are backfilled (issue 6, client/recovery.py)."""
        self._recovery.connection_lost(self.endpoint, self._desired().keys(), at)

    def _report(self, error: UpbitWSError) -> None:
        self._counters.error(self.endpoint, error, time.time())
        log.info("%s: %s: %s", self.endpoint, type(error).__name__, error)

    def _fail(self, error: UpbitWSError) -> None:
        now = time.time()
        self._counters.error(self.endpoint, error, now)
        self._stats.state = "failed"
        log.error("%s: %s", self.endpoint, error)
        self._buffer.put_event(ErrorOccurred(self.endpoint, error, True, now))
