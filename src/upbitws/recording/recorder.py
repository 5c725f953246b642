"""The recorder: a stream's raw frames, requests and events, and what its consumer got.

::

    async with upbitws.Recorder(upbitws.connect(subs), "data/") as stream:
        async for message in stream:      # the consumer's view; every item is recorded
            ...

What goes into the recording (format: ``docs/recording.md``):

* through the stream's :class:`~upbitws.client.options.FrameTap` (the connections call it):
  every frame as received, with wall and monotonic receive times and the connection
  number; every request sent; every connection opened (endpoint, URL without credentials);
* through the consumer's iteration of the recorder: a small delivery marker per message
  (its frame is on disk already), each recovered trade in full, each lifecycle event, in
  the order the consumer got them. Replay uses them to give back exactly that sequence.

Entries are held in memory and written at most :attr:`FlushPolicy.max_delay` (0.1 s) after
they happened (a zstd block flushed to the OS each time), by a worker thread. A write error (disk
full, ...) becomes an :class:`ErrorOccurred` event for the consumer and a log line; the held
entries are kept (up to ``max_backlog_mb``) and the write is retried every second into a new
file. A recorder started on a directory that holds a recording of the same subscriptions
continues it: trades after the last recorded one are fetched from REST
(:meth:`Stream.resume_trades`) so the tape has no hole across the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlsplit, urlunsplit

from upbitws.client.events import ErrorOccurred
from upbitws.exceptions import ConfigurationError, RecordingError, StreamClosedError
from upbitws.models import Announcement, MyAsset, MyOrder, RecoveredTrade, Trade
from upbitws.protocol.codec import encode
from upbitws.protocol.recordfile import (
    E_DELIVERED,
    E_EVENT,
    E_FRAME,
    E_OPENED,
    E_RECOVERED,
    E_REQUEST,
    E_TRADE,
    FORMAT_VERSION,
    FlushPolicy,
    RotationPolicy,
    encode_batch,
)
from upbitws.recording._serial import (
    EVENT_CLASSES,
    event_to_dict,
    subscriptions_to_list,
)
from upbitws.recording.resume import last_trades
from upbitws.recording.writer import FileWriter

if TYPE_CHECKING:
    from types import TracebackType

    from upbitws.client.state import MarketState
    from upbitws.client.stats import StatsSnapshot
    from upbitws.client.stream import Stream
    from upbitws.protocol.backfill import TradeMark

__all__ = ["Recorder"]

log = logging.getLogger("upbitws.recording")

_EVENT_TYPES: Final = frozenset(EVENT_CLASSES.values())
_TICK: Final = 0.05  # seconds between the flusher's checks
_RETRY: Final = 1.0  # seconds between write attempts after an error
_REPORT_EVERY: Final = 30.0  # seconds between repeated error events while writes fail


def _safe_url(url: str) -> str:
    """The URL without user info, query or fragment (where credentials could hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


#: Private messages subscribed later without consent: their frames are not recorded either.
_PRIVATE_CLASSES: Final = frozenset({MyOrder, MyAsset, Announcement})
_TRADE_KEYS: Final = tuple(
    attrgetter(name) for name in ("code", "timestamp", "stream_type", "sequential_id")
)


def _marker(message: Any) -> tuple[str, str, int, Any, int]:
    return (
        message.type,
        getattr(message, "code", ""),
        message.timestamp,
        getattr(message, "stream_type", None),
        0,
    )


def _frame_tap(
    kinds: bytearray, conns: list[int], monos: list[int], frames: list[Any]
) -> Callable[[int, Any], None]:
    """``frame(conn, data)``: four appends and a clock read per frame (the hot path)."""
    kind, conn_, mono_, data_ = kinds.append, conns.append, monos.append, frames.append
    clock = time.monotonic_ns

    def frame(conn: int, data: Any) -> None:
        if conn < 0:
            return  # a private connection recorded without consent (Recorder.opened)
        kind(E_FRAME)
        conn_(conn)
        mono_(clock())
        data_(data)

    return frame


class Recorder:
    """Records ``stream`` into ``directory`` while the consumer iterates the recorder.

    The recorder starts and closes the stream (``async with``). Iterate the recorder, not the
    stream: it yields what the stream yields (and its own :class:`ErrorOccurred` events).
    """

    def __init__(
        self,
        stream: Stream,
        directory: str | Path,
        *,
        include_private: bool = False,
        rotate_minutes: float | None = 60.0,
        rotate_mb: float | None = 256.0,
        resume: bool = True,
        flush: FlushPolicy | None = None,
        max_backlog_mb: float = 512.0,
        # zstd level 1: on block-flushed market data it was both faster (364 vs 257 MB/s)
        # and smaller (106 vs 124 kB) than level 3 here
        level: int = 1,
    ) -> None:
        if not stream.subscriptions.private().is_empty and not include_private:
            raise ConfigurationError(
                "the subscriptions include private types (your orders, assets): record them "
                "only with include_private=True (--include-private)"
            )
        self._stream = stream
        self.directory = Path(directory)
        self._include_private = include_private
        self._unmarked = _EVENT_TYPES | (frozenset() if include_private else _PRIVATE_CLASSES)
        self._rotation = RotationPolicy(rotate_minutes, rotate_mb)
        self._flush = flush or FlushPolicy()
        self._resume = resume
        self._max_backlog = int(max_backlog_mb * 1_000_000)
        self._level = level
        # What happened since the last batch, column-wise (cheap on the live path): one kind
        # byte per entry in order; frames' connection, monotonic time and data; the messages
        # the consumer got (markers are made from them when the batch is written); the rest.
        self._kinds = bytearray()
        self._conns: list[int] = []
        self._monos: list[int] = []
        self._frames: list[Any] = []
        self._trades: list[Any] = []
        self._delivered: list[Any] = []
        self._others: list[tuple[Any, ...]] = []
        self.frame = _frame_tap(self._kinds, self._conns, self._monos, self._frames)
        self._oldest: float | None = None
        self._backlog: deque[bytes] = deque()
        self._lock = threading.Lock()  # one writer at a time (a cancelled flush may still run)
        self._backlog_bytes = 0
        self._failing_since: float | None = None
        self._next_attempt = 0.0
        self._reported_at = 0.0
        self._events: deque[ErrorOccurred] = deque()
        self._callbacks: list[Callable[[Any], Any]] = []
        self._conn_count = 0
        self._writer: FileWriter | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self.resumed: dict[str, TradeMark] = {}
        self.entries_lost = 0
        stream.on_event(self._stream_event)

    # -- the tap (called by the connections) --------------------------------------------------

    def opened(self, endpoint: str, url: str) -> int:
        self._conn_count += 1
        conn = self._conn_count
        if endpoint != "public" and not self._include_private:
            # private types subscribed later (Stream.subscribe) without consent: not recorded
            return -conn
        self._other((E_OPENED, conn, time.time_ns(), endpoint, _safe_url(url)))
        return conn

    # ``frame(conn, data)`` is a closure set in __init__ (_frame_tap): the hot path.

    def request(self, conn: int, text: str) -> None:
        if conn > 0:
            self._other((E_REQUEST, conn, time.time_ns(), time.monotonic_ns(), text))

    def _other(self, entry: tuple[Any, ...]) -> None:
        self._kinds.append(entry[0])
        self._others.append(entry)

    # -- lifecycle ----------------------------------------------------------------------------

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
        if self._runner is not None or self._closed:
            raise StreamClosedError("a recorder can be started once")
        stream = self._stream
        header = self._header()
        if self._resume:  # reading is blocking: a worker thread; the stream is told here
            marks = await asyncio.to_thread(last_trades, self.directory, stream.subscriptions)
            for code, (mark, known) in sorted(marks.items()):
                stream.resume_trades(code, mark, known=known)
                self.resumed[code] = mark
            if marks:
                header["resumed"] = {
                    c: [m.sequential_id, m.trade_timestamp] for c, m in self.resumed.items()
                }
                log.info("recording: continuing %s from %s", self.directory, self.resumed)
        stream.options = dataclasses.replace(stream.options, tap=self)
        self._writer = FileWriter(self.directory, header, self._rotation, self._level)
        self._runner = asyncio.create_task(self._run(), name="upbitws-recorder")
        try:
            await stream.start()
        except BaseException:
            await self.aclose()
            raise
        log.info("recording %s into %s", stream.subscriptions.keys(), self.directory)

    async def aclose(self) -> None:
        """Close the stream, write what is held, close the file (with its closing record)."""
        if self._closed:
            return
        self._closed = True
        await self._stream.aclose()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        writer = self._writer
        if writer is None:
            return
        self._take()
        try:
            await asyncio.to_thread(self._write_backlog)
            await asyncio.to_thread(self._close_writer)
        except OSError as exc:
            log.error(
                "recording: could not write the last %d batches into %s: %s",
                len(self._backlog),
                self.directory,
                exc,
            )
            writer.abandon()

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._flusher(), name="upbitws-recorder-flush")

    def _header(self) -> dict[str, Any]:
        from upbitws import __version__

        stream = self._stream
        options = stream.options
        subs = stream.subscriptions
        return {
            "format_version": FORMAT_VERSION,
            "upbitws_version": __version__,
            "format": str(subs.format),
            "subscriptions": subscriptions_to_list(subs),
            "options": {  # never credentials: those live in the stream, not its options
                "url": _safe_url(options.public_endpoint),
                "numbers": options.numbers,
                "conflate": options.conflate,
                "include_events": options.include_events,
                "backfill": options.backfill,
                "queue_size": options.queue_size,
                "keepalive": options.keepalive,
                "compression": options.compression,
                "include_private": self._include_private,
                "rotate_minutes": self._rotation.minutes,
                "rotate_mb": self._rotation.megabytes,
            },
        }

    # -- resume -------------------------------------------------------------------------------

    # -- the consumer's side -----------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        while self._events:
            event = self._events.popleft()
            self._other((E_EVENT, time.time_ns(), event_to_dict(event)))
            await self._call(event)
            if self._stream.options.include_events:
                return event
        item = await self._stream.__anext__()
        cls = type(item)
        if cls is Trade:
            self._kinds.append(E_TRADE)
            self._trades.append(item)
        elif cls is RecoveredTrade:
            self._other((E_RECOVERED, time.time_ns(), encode(item)))
        elif cls not in self._unmarked:  # events: recorded by _stream_event, in order
            self._kinds.append(E_DELIVERED)
            self._delivered.append(item)
        return item

    async def _stream_event(self, event: Any) -> None:
        self._other((E_EVENT, time.time_ns(), event_to_dict(event)))
        await self._call(event)

    async def _call(self, event: Any) -> None:
        for callback in self._callbacks:
            result = callback(event)
            if asyncio.iscoroutine(result):
                await result

    def on_event(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Like :meth:`Stream.on_event`, plus the recorder's own :class:`ErrorOccurred`."""
        self._callbacks.append(callback)
        return callback

    @property
    def stream(self) -> Stream:
        return self._stream

    @property
    def state(self) -> MarketState:
        return self._stream.state

    def stats(self) -> StatsSnapshot:
        return self._stream.stats()

    @property
    def path(self) -> Path | None:
        """The file being written."""
        return self._writer.path if self._writer else None

    @property
    def bytes_written(self) -> int:
        return self._writer.written if self._writer else 0

    # -- writing ------------------------------------------------------------------------------

    async def _flusher(self) -> None:
        policy = self._flush
        while True:
            await asyncio.sleep(_TICK)
            now = time.monotonic()
            held = len(self._kinds)
            if held and self._oldest is None:
                self._oldest = now
            if not policy.due(now, self._oldest, held) and not self._backlog:
                continue
            self._take()
            if self._failing_since is not None and now < self._next_attempt:
                continue
            await self._write()

    def _take(self) -> None:
        """Move the held entries into the backlog as one encoded batch."""
        self._oldest = None
        if not self._kinds:
            return
        kinds = bytes(self._kinds)
        del self._kinds[:]
        conns, monos, frames = self._conns[:], self._monos[:], self._frames[:]
        trades, delivered, others = self._trades[:], self._delivered[:], self._others[:]
        columns = (self._conns, self._monos, self._frames, self._trades, self._delivered)
        for column in (*columns, self._others):
            column.clear()  # in place: the frame tap holds their append methods
        offset = time.time_ns() - time.monotonic_ns()
        # a column per key, each one C-level pass (a tuple per trade costs twice as much)
        trade_markers = [list(map(key, trades)) for key in _TRADE_KEYS]
        markers = [_marker(m) for m in delivered]
        body = encode_batch(kinds, offset, conns, monos, frames, trade_markers, markers, others)
        with self._lock:
            self._take_locked(body)

    def _take_locked(self, body: bytes) -> None:
        self._backlog.append(body)
        self._backlog_bytes += len(body)
        while self._backlog_bytes > self._max_backlog and len(self._backlog) > 1:
            dropped = self._backlog.popleft()
            self._backlog_bytes -= len(dropped)
            self.entries_lost += 1
            log.error(
                "recording: %d bytes of recording dropped: writes to %s have failed for too "
                "long (max_backlog_mb)",
                len(dropped),
                self.directory,
            )

    async def _write(self) -> None:
        writer = self._writer
        assert writer is not None
        try:
            await asyncio.to_thread(self._write_backlog)
        except OSError as exc:
            writer.abandon()
            now = time.monotonic()
            self._next_attempt = now + _RETRY
            if self._failing_since is None or now - self._reported_at >= _REPORT_EVERY:
                self._failing_since = self._failing_since or now
                self._reported_at = now
                error = RecordingError(
                    f"cannot write the recording into {self.directory}: {exc}; holding "
                    f"{self._backlog_bytes} bytes and retrying every {_RETRY:.0f} s"
                )
                log.error("recording: %s", error)
                self._events.append(ErrorOccurred("recorder", error, False, time.time()))
            return
        if self._failing_since is not None:
            log.warning(
                "recording: writing into %s again after %.1f s",
                self.directory,
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None

    def _close_writer(self) -> None:
        assert self._writer is not None
        with self._lock:
            self._writer.close()

    def _write_backlog(self) -> None:
        writer = self._writer
        assert writer is not None
        with self._lock:
            while self._backlog:
                body = self._backlog[0]
                writer.write(body)
                self._backlog.popleft()
                self._backlog_bytes -= len(body)
