"""One endpoint's connection, kept alive for as long as the stream lives.

Per connection three tasks, all owned by a TaskGroup: the **reader** (frames → models →
buffer; it never waits for the consumer), the **keepalive** (pings and the data watchdog,
driven by the sans-I/O :class:`Liveness`), and the **sender** (the full subscription request
whenever the desired set changed, coalesced under Upbit's message limit of 5/s and 100/min,
protocol §7). Around them the reconnect loop: every upgrade waits for the process-wide
connect budget (5/s per host / account, client/budget.py), capped full-jitter backoff reset
only by a productive or stable connection, Retry-After honoured (jittered, capped), fatal
errors never retried, and the whole subscription set re-sent as one request on every
(re)connect (architecture §2.2).

Never silent: the first failure of a run and backoffs at the cap are logged at WARNING with
the URL and the cause. A connection liveness declares dead is aborted at once (no close
handshake that cannot complete); the polite close is kept for the user's shutdown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from upbitws.client.budget import ConnectBudget, default_budget
from upbitws.client.buffer import MessageBuffer
from upbitws.client.events import (
    Connected,
    Disconnected,
    ErrorOccurred,
    Reconnected,
    Reconnecting,
)
from upbitws.client.frames import FrameFilter, SkippedFrames
from upbitws.client.options import StreamOptions
from upbitws.client.recovery import TradeRecovery
from upbitws.client.state import MarketState
from upbitws.client.stats import StreamCounters
from upbitws.client.transport import abort, open_websocket
from upbitws.exceptions import (
    ConnectionFailedError,
    ConnectionLostError,
    FatalError,
    HostUnreachableError,
    MessageDecodeError,
    RateLimitedError,
    RetriesExhaustedError,
    UnreachableError,
    UpbitWSError,
)
from upbitws.models import ErrorFrame, StatusFrame, StreamType, SubscriptionList
from upbitws.protocol.codec import Decoder
from upbitws.protocol.endpoints import budget_key as host_key
from upbitws.protocol.errors import error_from_close, error_from_frame
from upbitws.protocol.liveness import Dead, Liveness, LivenessPolicy, Probe, SendPing, Stalled
from upbitws.protocol.ratelimit import MESSAGE_WINDOWS, SlidingWindowLimiter
from upbitws.protocol.requests import render_list_subscriptions, render_request

if TYPE_CHECKING:
    from upbitws.client.buffer import MessageBuffer
    from upbitws.client.options import StreamOptions
    from upbitws.client.stats import StreamCounters
    from upbitws.protocol.backoff import Backoff
    from upbitws.protocol.subscriptions import SubscriptionSet

__all__ = ["Connection"]

log = logging.getLogger("upbitws.connection")

_DATA: Final = (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
#: Minimum seconds between two latency samples (see ``_handle_frame``).
LATENCY_SAMPLE_EVERY: Final = 0.0005
#: Outbox marker: send the desired set as it is when the marker's turn comes.
_RESEND: Final = object()
_TRADE_TYPES: Final = frozenset({"trade"})
_AUTH: Final = " (with an Authorization header)"


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
        backoff: Backoff,
        headers: Callable[[], Mapping[str, str]] | None = None,
        recovery: TradeRecovery | None = None,
        state: MarketState | None = None,
        budget: ConnectBudget | None = None,
        budget_key: str | None = None,
        on_open: Callable[[], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.url = url
        self._options = options
        self._session = session
        self._desired = desired
        self._on_open = on_open
        self._buffer = buffer
        self._counters = counters
        self._stats = counters.connection(endpoint)
        self._budget = budget if budget is not None else default_budget()
        self._budget_key = budget_key or host_key(url)
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
        # Trade recovery: trades go through dedupe / gap handling, other data updates the state.
        # The stream passes its own (whose run() closes the gaps); a bare Connection gets
        # one without backfill, so nothing waits on a worker that never runs.
        self._state = state if state is not None else MarketState()
        if recovery is None:
            bare = dataclasses.replace(options, backfill=False)
            recovery = TradeRecovery(
                options=bare, buffer=buffer, counters=counters, state=self._state
            )
        self._recovery = recovery
        # Unsubscribed messages dropped, skipped frames counted and announced (client/frames.py).
        self._filter = FrameFilter(desired)
        self._skipped = SkippedFrames(
            endpoint, counters=counters, recovery=recovery, frame_filter=self._filter, log=log
        )
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._latency_due = 0.0
        self._ever_connected = False
        self._aborted = False
        self._tap = options.tap  # recording (upbitws.recording): frames and requests, raw
        self._tap_conn = 0

    # -- public -----------------------------------------------------------------------------

    def resubscribe(self) -> None:
        """The desired set changed: send it (coalesced with other changes)."""
        self._filter.refresh()
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
            await self._budget.acquire(self._budget_key)
            self._stats.state = "connecting"
            self._stats.attempts += 1
            cause: UpbitWSError
            # No header local here: the factory mints the token inside the call, so no frame
            # of ours holds it (a show-locals traceback would print it).
            log.debug("%s: opening %s%s", self.endpoint, self.url, _AUTH if self._headers else "")
            try:
                ws = await open_websocket(
                    self._session,
                    self.url,
                    headers=self._headers,
                    handshake_timeout=self._options.handshake_timeout,
                    compression=self._options.compression,
                    max_msg_size=self._options.max_msg_size,
                    private=self.endpoint == "private",
                )
            except ConnectionFailedError as exc:
                self._never_reachable(exc)
                cause = exc
                self._report(exc)
                self._buffer.put_event(ErrorOccurred(self.endpoint, exc, False, time.time()))
            except UpbitWSError as exc:  # fatal: retrying cannot fix it
                self._fail(exc)
                raise
            else:
                self._ever_connected = True
                cause = await self._serve(ws, attempt, dropped_at)
                dropped_at = time.time()
                self._buffer.put_event(Disconnected(self.endpoint, cause, dropped_at))
                self._backoff.disconnected(time.monotonic(), self._liveness.last_data)
                self._open_gaps(dropped_at)
            attempt += 1
            retry = self._backoff.failed(time.monotonic(), cause.retry_after)
            if self._backoff.exhausted:
                error = RetriesExhaustedError(
                    f"{self.endpoint} connection to {self.url} failed {self._backoff.attempt} "
                    f"times in a row (max_retries); last error: {cause}"
                )
                error.__cause__ = cause
                self._fail(error)
                raise error
            if retry.capped:
                self._capped(cause, retry.asked)
            self._stats.state = "backoff"
            self._buffer.put_event(Reconnecting(self.endpoint, attempt, retry.delay, cause))
            log.log(
                logging.WARNING if retry.warn else logging.INFO,
                "%s: connection to %s failed (%s: %s); reconnecting in %.2fs "
                "(%d failure(s) in a row%s)",
                self.endpoint,
                self.url,
                type(cause).__name__,
                cause,
                retry.delay,
                retry.attempt,
                ", backoff at its cap" if retry.at_cap else "",
            )
            await asyncio.sleep(retry.delay)

    def _never_reachable(self, exc: ConnectionFailedError) -> None:
        """A host that was never reachable (typo, wrong port, wss:// to a plain port) is not
        retried forever: fatal unless the stream connected once or ``retry_initial_connect``."""
        if (
            not isinstance(exc, HostUnreachableError)
            or self._ever_connected
            or self._options.retry_initial_connect
        ):
            return
        error = UnreachableError(
            f"{exc}; the {self.endpoint} stream never connected, so this is not retried "
            "(pass retry_initial_connect=True to keep retrying until the network is up)",
            name=exc.name,
        )
        error.__cause__ = exc
        self._fail(error)
        raise error

    def _capped(self, cause: UpbitWSError, asked: float | None) -> None:
        cap = self._backoff.policy.retry_after_cap
        error = RateLimitedError(
            f"{self.url} asked to wait {asked:g} s ({cause}); waiting retry_after_cap = "
            f"{cap:g} s instead",
            status_code=cause.status_code,
            retry_after=cap,
        )
        log.warning("%s: %s", self.endpoint, error)
        self._buffer.put_event(ErrorOccurred(self.endpoint, error, False, time.time()))

    async def _serve(
        self, ws: aiohttp.ClientWebSocketResponse, attempt: int, dropped_at: float | None
    ) -> UpbitWSError:
        """Serve one open connection until it ends; return why (raise if fatal)."""
        self._ws = ws
        self._cause = None
        self._aborted = False
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
        if self._tap is not None:
            self._tap_conn = self._tap.opened(self.endpoint, self.url)
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
            if self._on_open is not None:
                self._on_open()
            self._recovery.connection_ready(self.endpoint, self._desired().keys())
            log.info("%s: connected to %s (attempt %d)", self.endpoint, self.url, attempt)
            async with asyncio.TaskGroup() as tg:
                keepalive = tg.create_task(self._keepalive(ws))
                sender = tg.create_task(self._sender(ws))
                await self._reader(ws)
                keepalive.cancel()
                sender.cancel()
        except* (ConnectionResetError, aiohttp.ClientError) as group:
            # A ping or a request written to a transport that is closing (the keepalive and
            # sender tasks raise inside the TaskGroup, hence except*): a drop, not our bug.
            exc = group.exceptions[0]
            self._set_cause(ConnectionLostError(f"connection lost while sending: {exc}"))
        finally:
            self._ws = None
            stats.connected_at = None
            stats.connected_monotonic = None
            stats.state = "closed"
            if not self._aborted:
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
        """Hot path: one frame → typed messages → buffer.

        Nothing about one frame can end the stream: ONE ``try`` around the whole per-frame
        work (free in CPython 3.11+ until something raises); whatever raises skips the frame,
        counted and announced as a gap (client/frames.py)."""
        if self._tap is not None:
            self._tap.frame(self._tap_conn, data)
        counters = self._counters
        counters.frames_received += 1
        counters.bytes_received += len(data)
        try:
            messages = self._decoder.decode(data)
            now = time.monotonic()
            now_ms = time.time() * 1000.0
            received = counters.received
            routes = self._filter.routes
            put = self._buffer.put
            on_trade = self._recovery.on_trade
            update = self._state.update
            data_seen = False
            for message in messages:
                cls = type(message)
                route = routes.get(cls)
                if route is None:
                    if cls is StatusFrame or cls is ErrorFrame or cls is SubscriptionList:
                        self._control(message, now)
                        continue
                    route = self._filter.route(cls, message.type)
                    if route is None:
                        counters.unsubscribed_dropped += 1
                        continue
                name, codes = route
                if codes is not None and message.code not in codes:
                    # Not subscribed (a hostile server, or in flight after an unsubscribe):
                    # never buffered or kept in state, which would grow without bound.
                    counters.unsubscribed_dropped += 1
                    continue
                received[name] = received.get(name, 0) + 1
                if now >= self._latency_due and message.stream_type is StreamType.REALTIME:
                    # Time-sampled (at most one sample per LATENCY_SAMPLE_EVERY s): every
                    # message at Upbit's real rates, bounded cost at benchmark rates (the
                    # histogram was 20% of the per-message time at 300k msgs/s).
                    counters.latency.record(now_ms - message.timestamp)
                    self._latency_due = now + LATENCY_SAMPLE_EVERY
                if name in _TRADE_TYPES:
                    on_trade(message)  # dedupe, gaps (client/recovery.py)
                else:
                    update(message)  # live state, current even when the consumer lags
                    put(message)
                data_seen = True
            if data_seen:
                self._liveness.data_received(now)
        except MessageDecodeError as exc:
            self._skipped.skipped(data, exc, decoded=False)
        except Exception as exc:  # one bad frame must never end the stream
            self._skipped.skipped(data, exc, decoded=True)

    def _control(self, message: Any, now: float) -> None:
        if isinstance(message, StatusFrame):
            self._liveness.pong_received(now)
        elif isinstance(message, ErrorFrame):
            error = error_from_frame(message.error.name, message.error.message)
            # Logged once per connection: only the first one is its cause, and a server that
            # keeps sending error frames instead of closing must not flood the log.
            level = logging.WARNING if self._cause is None else logging.DEBUG
            log.log(level, "%s: server error frame %.60s", self.endpoint, message.error.name)
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
                log.warning(
                    "%s: %s on %s; aborting the connection", self.endpoint, action.reason, self.url
                )
                self._set_cause(action.error())
                # No close handshake: the path is dead, waiting close_timeout for a reply
                # only delays the reconnect.
                self._aborted = True
                abort(ws)
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
        if self._tap is not None:
            self._tap.request(self._tap_conn, text)
        await ws.send_str(text)  # requests are text frames (protocol §2.3)
        self._stats.messages_sent += 1

    # -- bookkeeping ------------------------------------------------------------------------

    def _open_gaps(self, at: float) -> None:
        """Everything subscribed may be missing from the drop on: announce it; trade gaps
        are backfilled (trade recovery, client/recovery.py)."""
        self._recovery.connection_lost(self.endpoint, self._desired().keys(), at)

    def _report(self, error: UpbitWSError) -> None:
        self._counters.error(self.endpoint, error, time.time())
        log.info("%s: %s: %s", self.endpoint, type(error).__name__, error)

    def _fail(self, error: UpbitWSError) -> None:
        now = time.time()
        self._counters.error(self.endpoint, error, now)
        self._stats.state = "failed"
        # INFO, not ERROR: the error itself is raised from the stream's iterator, where the
        # user (or the CLI's one-line message) reports it; logging it loudly twice is noise.
        log.info("%s: ending the stream: %s: %s", self.endpoint, type(error).__name__, error)
        self._buffer.put_event(ErrorOccurred(self.endpoint, error, True, now))
