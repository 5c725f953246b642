"""One WebSocket connection as Upbit's server handles it (protocol §2, §3, §5, §6, §12).

* Nothing is sent until the client sends a request (§2.2).
* Every frame is binary UTF-8 JSON (§2.4) unless the ``text_frames`` fault is on.
* A valid request replaces the subscription set and the format (§3.5); each known upper-case
  code gets one SNAPSHOT (unless ``is_only_realtime``), then REALTIME frames (unless
  ``is_only_snapshot``). Unknown / lower-case codes are ignored silently (§3.3).
* An invalid request gets ``{"error":…}`` and a close 1000 ~150 ms later (§6).
* Protocol pings are answered with pongs; the server never pings (§5). Text ``PING`` starts
  ``{"status":"UP"}`` every ``status_interval`` seconds.
* Any received frame (pings included) and every UP sent resets the idle timer; on expiry the
  TCP connection is aborted with no close frame (§5: the client sees 1006).
* Messages are limited to 5/s and 100/min per connection (§7); a text ``PING`` is not counted.
* The send queue is bounded in bytes (``max_queue_bytes``, and ``max_queue`` frames), and all
  queues together by the server's ``send_budget_bytes``: a consumer that stops reading is cut
  with a TCP abort (1006, no close frame: a close frame could not pass its full buffer) and
  counted in ``slow_consumers``, instead of pinning memory.
* A request that fails validation in any way gets an error frame and close 1000 (§3.6, §6); an
  unexpected failure while handling one is logged and answered the same way, never crashing
  the connection's handler.

JSON_LIST / SIMPLE_LIST frames carry every data event already queued (at most 16) in one array
(batching rules are UNVERIFIED, §14.5); status, error and LIST_SUBSCRIPTIONS replies are never
wrapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Coroutine, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from upbitws.models import (
    ErrorDetail,
    ErrorFrame,
    StatusFrame,
    SubscriptionEntry,
    SubscriptionList,
)
from upbitws.protocol.codec import encode
from upbitws.protocol.formats import LIST_FORMATS, SIMPLE_FORMATS, Format
from upbitws.protocol.ratelimit import SlidingWindowLimiter
from upbitws.simulator.limits import SendBudget
from upbitws.simulator.requests import (
    ERROR_MESSAGES,
    PRIVATE_TYPES,
    Entry,
    Rejected,
    Request,
    parse_request,
    split_depth,
)

if TYPE_CHECKING:
    from upbitws.simulator.config import SimulatorConfig
    from upbitws.simulator.engine import Exchange, Key
    from upbitws.simulator.faults import Fault
    from upbitws.simulator.stats import Stats

__all__ = ["ENTRY_OVERHEAD", "Session", "UpbitWebSocket", "error_frame"]

_UP = encode(StatusFrame(status="UP"))
_MALFORMED = b'{"type":"trade","code":"KRW-BTC","trade_price":'  # cut-off JSON
_BATCH = 16
_CLOSE_TIMEOUT = 2.0  # seconds to wait for the client's close reply
_ids = itertools.count(1)
#: What one queued frame costs beyond its payload (deque slot, tuple): counted so that a queue
#: of many small frames is bounded by what it really holds.
ENTRY_OVERHEAD = 72
_log = logging.getLogger("upbitws.simulator")


def error_frame(name: str, message: str) -> bytes:
    """``{"error":{"name":…,"message":…}}`` (§6)."""
    return encode(ErrorFrame(error=ErrorDetail(name=name, message=message)))


#: Close codes aiohttp's reader closes with on a bad client frame: protocol error, invalid
#: UTF-8 text, message over ``max_request_bytes``.
_READER_ERRORS = frozenset({1002, 1007, 1009})


class UpbitWebSocket(web.WebSocketResponse):
    """A WebSocketResponse that answers a frame its reader refuses as Upbit answers a bad
    request: an error frame, then close 1000 ~150 ms later (§3.6, §6).

    aiohttp closes such a connection itself, inside ``receive()``, with 1002/1007/1009 and no
    error frame; this hooks that close. The session's own closes (faults, shutdown) set
    ``deliberate`` so a fault can still close with any code.
    """

    def __init__(self, *, error_close_delay: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deliberate = False
        self.request_errors = 0
        self._delay = error_close_delay

    async def close(self, *, code: int = 1000, message: bytes = b"", drain: bool = True) -> bool:
        if code in _READER_ERRORS and not self.deliberate and not self.closed:
            self.request_errors += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send_bytes(error_frame("WRONG_FORMAT", ERROR_MESSAGES["WRONG_FORMAT"]))
                await asyncio.sleep(self._delay)
            code, message = 1000, b""
        return await super().close(code=code, message=message, drain=drain)


class Session:
    """Protocol state of one connection; :meth:`run` serves it until it ends."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        *,
        exchange: Exchange,
        config: SimulatorConfig,
        stats: Stats,
        private: bool,
        auth_failed: bool,
        budget: SendBudget | None = None,
    ) -> None:
        self.id = next(_ids)
        self._ws = ws
        self._transport = request.transport
        self._ex = exchange
        self._cfg = config
        self._stats = stats
        self.private = private
        self._auth_failed = auth_failed
        self.format = "DEFAULT"
        self.entries: tuple[Entry, ...] = ()
        self._keys: set[Key] = set()
        self._books: dict[str, list[tuple[int, Decimal]]] = {}
        self._queue: deque[tuple[bool, bytes]] = deque()  # (is data, payload)
        self._queued_bytes = 0  # payloads + ENTRY_OVERHEAD each, for the byte bounds
        self._budget = budget if budget is not None else SendBudget(None)
        self._budget.join(self)
        self._wake = asyncio.Event()
        self._limiter = SlidingWindowLimiter(config.message_limits, margin=0.0)
        self._loop = asyncio.get_running_loop()
        self._last_activity = self._loop.time()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closers: set[asyncio.Task[None]] = set()
        #: Set when :meth:`run` has returned its bookkeeping (the connection is over).
        self.finished = asyncio.Event()
        self._status_task: asyncio.Task[None] | None = None
        self._closing = False
        # Fault modes (faults.py).
        self.half_open = False
        self.silent = False
        self.text_frames = False
        self._malformed = 0
        self._close_after: tuple[int, int] | None = None  # (messages left, code)

    # -- engine interface (engine.Subscriber) ---------------------------------------------
    @property
    def simple(self) -> bool:
        return self.format in SIMPLE_FORMATS

    def push(self, data: bytes) -> None:
        self._enqueue(True, data)

    def book_views(self, code: str) -> Sequence[tuple[int, Decimal]]:
        return self._books.get(code, ())

    # -- lifecycle --------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run(self) -> None:
        """Serve the connection until the client or a fault ends it."""
        self._spawn(self._writer())
        self._spawn(self._watchdog())
        try:
            await self._reader()
        finally:
            self._closing = True
            self._ex.unsubscribe(self)
            if self._closers:  # let a close handshake in progress finish (bounded)
                await asyncio.wait(self._closers, timeout=_CLOSE_TIMEOUT)
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._clear_queue()
            self._budget.leave(self)
            self.finished.set()

    def abort(self) -> None:
        """End the connection with no close frame (TCP abort; the client sees 1006)."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def close_soon(self, code: int, delay: float = 0.0) -> None:
        """Send a close frame with ``code`` after ``delay`` seconds."""
        self._closing = True
        task = self._spawn(self._close(code, delay))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _close(self, code: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if isinstance(self._ws, UpbitWebSocket):
            self._ws.deliberate = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.close(code=code)

    # -- receiving --------------------------------------------------------------------------
    async def _reader(self) -> None:
        try:
            await self._read()
        finally:
            if isinstance(self._ws, UpbitWebSocket):
                self._stats.errors_sent += self._ws.request_errors

    async def _read(self) -> None:
        async for msg in self._ws:
            self._last_activity = self._loop.time()  # any frame resets the idle timer (§5)
            self._stats.messages_received += 1
            if msg.type == WSMsgType.PING:
                if not self.half_open:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await self._ws.pong(msg.data)
            elif msg.type == WSMsgType.TEXT:
                self._on_request(msg.data)
            elif msg.type == WSMsgType.BINARY:
                try:
                    text = bytes(msg.data).decode()
                except UnicodeDecodeError:
                    text = "\x00"
                self._on_request(text)

    def _on_request(self, text: str) -> None:
        try:
            self._handle_request(text)
        except Exception:
            # A bug, not the client's fault, but the client still gets Upbit's answer to a
            # request the server cannot serve (§6) and the handler keeps running.
            _log.exception("simulator: unexpected failure handling a request; WRONG_FORMAT")
            if not self._closing:
                self.reject("WRONG_FORMAT", ERROR_MESSAGES["WRONG_FORMAT"])

    def _handle_request(self, text: str) -> None:
        if self._closing or self.half_open:
            return
        if text == "PING":  # §5: starts the UP ticker; not counted as a request
            if self._status_task is None:
                self._status_task = self._spawn(self._status_ticker())
            return
        now = self._loop.time()
        if self._limiter.delay(now) > 0:  # §7 websocket-message: 5/s and 100/min
            self._stats.rate_limited += 1
            if self._cfg.message_limit_answer == "frame":
                self.reject("TOO_MANY_REQUESTS", ERROR_MESSAGES["TOO_MANY_REQUESTS"])
            return
        self._limiter.record(now)
        if self._auth_failed:  # auth_failure="frame": INVALID_AUTH on the first request
            self.reject("INVALID_AUTH", ERROR_MESSAGES["INVALID_AUTH"])
            return
        try:
            request = parse_request(text, private=self.private, camel_case=self._cfg.camel_case)
        except Rejected as exc:
            self.reject(exc.name, exc.message)
            return
        if request.method == "LIST_SUBSCRIPTIONS":
            self._list_subscriptions(request)
        else:
            self._subscribe(request)

    def reject(self, name: str, message: str) -> None:
        self._stats.errors_sent += 1
        self._enqueue(False, error_frame(name, message))
        self.close_soon(1000, self._cfg.error_close_delay)  # §6: close 1000 after the error

    # -- subscriptions --------------------------------------------------------------------
    def _subscribe(self, request: Request) -> None:
        """Replace the whole set and format (§3.5), then SNAPSHOT each known code."""
        previous = self._keys
        self.format = request.format or "DEFAULT"
        self.entries = request.entries
        keys: set[Key] = set()
        books: dict[str, list[tuple[int, Decimal]]] = {}
        sent: set[tuple[str, str, int, Decimal]] = set()
        for entry in request.entries:
            if entry.type in PRIVATE_TYPES:
                self._private_keys(entry, keys)
                continue
            level = entry.level or Decimal(0)
            for raw in entry.codes or ():
                code, depth = split_depth(raw) if entry.type == "orderbook" else (raw, 0)
                if code not in self._ex.markets:
                    continue  # unknown or lower-case codes are ignored (§3.3)
                if entry.type == "orderbook" and not self._ex.level_ok(code, level):
                    continue  # unsupported level / non-KRW level: no data (§3.4, KR host)
                key = (entry.type, code)
                view = (entry.type, code, depth, level)
                fresh = self._cfg.resnapshot or key not in previous
                if not entry.only_realtime and view not in sent and fresh:
                    sent.add(view)
                    frame = self._ex.snapshot(entry.type, code, depth, level)
                    if frame is not None:
                        self.push(encode(frame, "SIMPLE" if self.simple else "DEFAULT"))
                if entry.only_snapshot:
                    continue
                keys.add(key)
                if entry.type == "orderbook":
                    views = books.setdefault(code, [])
                    if (depth, level) not in views:
                        views.append((depth, level))
        self._keys, self._books = keys, books
        self._ex.subscribe(self, keys)

    def _private_keys(self, entry: Entry, keys: set[Key]) -> None:
        if entry.type == "myOrder":
            codes = [c for c in entry.codes or () if c in self._ex.markets]
            if not entry.codes:
                keys.add(("myOrder", "*"))  # omitted or [] means every market (§4.6)
            keys.update(("myOrder", c) for c in codes)
        elif entry.type == "myAsset":
            keys.add(("myAsset", "*"))
        # announcement: accepted; the simulator publishes no announcements.

    def _list_subscriptions(self, request: Request) -> None:
        """The LIST_SUBSCRIPTIONS reply (§4.10); a format object switches the format."""
        if request.format is not None:
            self.format = request.format
        reply = SubscriptionList(
            method="LIST_SUBSCRIPTIONS",
            result=tuple(
                SubscriptionEntry(
                    type=entry.type,
                    codes=entry.codes,
                    # orderbook entries always carry their level, 0 when none was asked for
                    level=(entry.level or Decimal(0)) if entry.type == "orderbook" else None,
                )
                for entry in self.entries
            ),
            ticket=request.ticket,
        )
        # Never wrapped in an array, whatever the format (§4.1): only the key set follows it.
        self._enqueue(False, encode(reply, Format.SIMPLE if self.simple else Format.DEFAULT))

    def subscription_count(self) -> int:
        return len(self._keys)

    # -- faults -----------------------------------------------------------------------------
    def apply_fault(self, fault: Fault) -> None:
        """Apply a connection fault now (faults.py)."""
        kind = fault.kind
        if kind == "drop":
            if fault.code is None:
                self.abort()
            else:
                self.close_soon(fault.code)
        elif kind == "close":
            self.close_soon(fault.close_code)
        elif kind == "half_open":
            self.half_open = True
            self._clear_queue()
        elif kind == "silence":
            self.silent = True
            self._clear_queue()
        elif kind == "malformed":
            self._malformed += 1
            self._wake.set()
        elif kind == "text_frames":
            self.text_frames = True
        elif kind == "close_after":
            if fault.count == 0:
                self.close_soon(fault.close_code)
            else:
                self._close_after = (fault.count, fault.close_code)

    def clear_faults(self) -> None:
        self.half_open = self.silent = self.text_frames = False
        self._close_after = None

    # -- sending ------------------------------------------------------------------------------
    @property
    def queued_bytes(self) -> int:
        """Bytes queued for this connection and not yet handed to the transport."""
        return self._queued_bytes

    def cut_slow_consumer(self, reason: str) -> None:
        """Drop a consumer too far behind (TCP abort) and free its queue at once."""
        if self._transport_closed() and not self._queue:
            return
        self._stats.slow_consumers += 1
        if reason == "send budget":
            self._stats.send_budget_cuts += 1
        self._clear_queue()
        self._budget.leave(self)
        self.abort()

    def _clear_queue(self) -> None:
        self._queue.clear()
        self._budget.release(self._queued_bytes)
        self._queued_bytes = 0

    def _enqueue(self, data: bool, payload: bytes) -> None:
        if self.half_open or self.silent or (self._closing and data) or self._transport_closed():
            return
        size = len(payload) + ENTRY_OVERHEAD
        cfg = self._cfg
        if len(self._queue) >= cfg.max_queue or self._queued_bytes + size > cfg.max_queue_bytes:
            self.cut_slow_consumer("queue")  # as a real server drops a consumer this far behind
            return
        self._queue.append((data, payload))
        self._queued_bytes += size
        self._wake.set()
        self._budget.charge(size)  # may cut the largest queue server-wide (maybe this one)

    def _pop(self) -> tuple[bool, bytes]:
        data, payload = self._queue.popleft()
        size = len(payload) + ENTRY_OVERHEAD
        self._queued_bytes -= size
        self._budget.release(size)
        return data, payload

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (self._queue or self._malformed) and not self._transport_closed():
                if self._malformed:
                    self._malformed -= 1
                    await self._send(_MALFORMED)
                    continue
                data, payload = self._pop()
                if data and self.format in LIST_FORMATS:
                    items = [payload]
                    while self._queue and self._queue[0][0] and len(items) < _BATCH:
                        items.append(self._pop()[1])
                    payload = b"[" + b",".join(items) + b"]"
                await self._send(payload)
                if self._close_after is not None:
                    left, code = self._close_after
                    self._close_after = (left - 1, code) if left > 1 else None
                    if left <= 1:  # exactly `count` messages, then the close frame
                        self._clear_queue()
                        self.close_soon(code)
                        return

    def _transport_closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    async def _send(self, payload: bytes) -> None:
        try:
            if self.text_frames:
                await self._ws.send_str(payload.decode())
            else:
                await self._ws.send_bytes(payload)
        except (ConnectionError, RuntimeError):
            self._clear_queue()
            return
        self._stats.messages_sent += 1

    async def _status_ticker(self) -> None:
        """``{"status":"UP"}`` on a server-side tick of ``status_interval`` (§5)."""
        interval = self._cfg.status_interval
        while True:
            now = self._loop.time()
            await asyncio.sleep(interval - (now % interval))
            self._last_activity = self._loop.time()  # UP counts as traffic (§5, WIRE)
            self._enqueue(False, _UP)

    async def _watchdog(self) -> None:
        """Abort after ``idle_timeout`` seconds with nothing received (§5)."""
        while True:
            left = self._last_activity + self._cfg.idle_timeout - self._loop.time()
            if left <= 0:
                self._stats.idle_timeouts += 1
                self.abort()
                return
            await asyncio.sleep(left)
