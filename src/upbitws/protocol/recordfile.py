"""The recording file format, sans-I/O: record framing, parsing, and the recorder's decisions.

A recording (``docs/recording.md``) is a directory of files, one per rotation, named so that
they sort by time (:func:`file_name`). Each file is one zstd stream; its decompressed bytes are
:data:`MAGIC` followed by records::

    record := u32 body length | u8 kind | u32 crc32(body) | body        (little-endian)

* :data:`HEADER` — JSON: format version, upbitws version, subscriptions, options (never a
  credential), the file's part number. Always the first record.
* :data:`BATCH` — msgpack, column-wise (:func:`encode_batch`): entries in the order they
  happened (see the ``E_*`` constants): frames as received, requests sent, connections
  opened, lifecycle events, delivery markers (what the consumer got, where) and recovered
  trades. Columns, not one tuple per entry, because the recorder builds them on the live
  path: a frame costs four list appends and a clock read, a marker two appends.
* :data:`END` — JSON: written by a clean close. A file without it was cut short (a crash,
  SIGKILL); it is still readable up to its last complete record.

Everything here is pure: the parser is fed decompressed bytes, the policies are given
``now``; the recorder (``upbitws.recording``) and the simulator's replay source do the I/O.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, Final

import msgspec

from upbitws.exceptions import ConfigurationError, RecordingFormatError

__all__ = [
    "BATCH",
    "END",
    "E_DELIVERED",
    "E_EVENT",
    "E_FRAME",
    "E_OPENED",
    "E_RECOVERED",
    "E_REQUEST",
    "E_TRADE",
    "FORMAT_VERSION",
    "HEADER",
    "MAGIC",
    "DeliveryIndex",
    "FlushPolicy",
    "RecordParser",
    "RecordingFormatError",
    "RotationPolicy",
    "decode_batch",
    "encode_batch",
    "encode_record",
    "file_name",
    "is_recording_name",
    "parse_header",
]

MAGIC: Final = b"UPBITWS-REC\n"
FORMAT_VERSION: Final = 1

HEADER: Final = 1
BATCH: Final = 2
END: Final = 3
_KINDS: Final = frozenset({HEADER, BATCH, END})

#: ``(E_FRAME, conn, wall_ns, mono_ns, data)``: a frame as received (``bytes`` for a binary
#: frame, ``str`` for a text frame), after permessage-deflate decompression. ``wall_ns`` is
#: ``mono_ns`` plus the batch's wall-minus-monotonic offset (sampled when it is written).
E_FRAME: Final = 0
#: ``(E_DELIVERED, None, type, code, timestamp, stream_type, sequential_id)``: the consumer
#: got the message with these keys, decoded from a frame recorded before this entry (its
#: time is its frame's receive time).
E_DELIVERED: Final = 1
#: ``(E_RECOVERED, wall_ns, trade_json)``: the consumer got a trade recovered from REST.
E_RECOVERED: Final = 2
#: ``(E_EVENT, wall_ns, event_dict)``: the consumer got a lifecycle event.
E_EVENT: Final = 3
#: ``(E_REQUEST, conn, wall_ns, mono_ns, text)``: a request sent on connection ``conn``.
E_REQUEST: Final = 4
#: ``(E_OPENED, conn, wall_ns, endpoint, url)``: connection number ``conn`` opened.
E_OPENED: Final = 5
#: Only in a batch's ``kinds``: a delivery marker of a trade, stored without its type in the
#: ``trades`` columns ``[codes, timestamps, stream_types, sequential_ids]`` (the recorder
#: builds each in one C-level pass, no tuple per trade); read back as ``E_DELIVERED``.
E_TRADE: Final = 6

_HEAD: Final = struct.Struct("<IBI")
#: A record larger than this is corruption, not data (a batch holds at most a second).
MAX_RECORD: Final = 1 << 30
_NAME: Final = re.compile(r"^upbitws-\d{8}T\d{9}Z\.rec\.zst$")


def encode_record(kind: int, body: bytes) -> bytes:
    """One framed record."""
    return _HEAD.pack(len(body), kind, zlib.crc32(body)) + body


_BATCH_KEYS: Final = (
    "kinds",
    "offset",
    "conn",
    "mono",
    "frames",
    "trades",
    "markers",
    "others",
)


def encode_batch(
    kinds: bytes,
    offset_ns: int,
    conns: Sequence[int],
    monos: Sequence[int],
    frames: Sequence[bytes | str],
    trades: Sequence[Sequence[Any]],
    markers: Sequence[tuple[str, str, int, Any, int]],
    others: Sequence[tuple[Any, ...]],
) -> bytes:
    """One batch body. ``kinds`` holds an ``E_*`` byte per entry, in order; the frames'
    columns (connection, monotonic ns, data), the trade markers' four columns
    (:data:`E_TRADE`), the other markers and the other entries (tuples as documented at
    the ``E_*`` constants) are each in that order."""
    return msgspec.msgpack.encode(
        {
            "kinds": bytes(kinds),
            "offset": offset_ns,
            "conn": array("q", conns).tobytes(),
            "mono": array("q", monos).tobytes(),
            "frames": frames,
            "trades": trades,
            "markers": markers,
            "others": others,
        }
    )


def decode_batch(body: bytes) -> list[tuple[Any, ...]]:
    """The entries of a batch body, in order, as the tuples documented at ``E_*``."""
    data = msgspec.msgpack.decode(body)
    if not isinstance(data, dict) or any(key not in data for key in _BATCH_KEYS):
        raise RecordingFormatError("a batch record without its columns")
    conns, monos = array("q"), array("q")
    conns.frombytes(data["conn"])
    monos.frombytes(data["mono"])
    offset = data["offset"]
    walls = [mono + offset for mono in monos]
    # One iterator per column, merged by the kind bytes (replay reads this per entry: keep
    # the per-entry work to a lookup and a call).
    frame = zip(repeat(E_FRAME), conns, walls, monos, data["frames"]).__next__
    columns = data["trades"] or ((), (), (), ())
    trade = zip(repeat(E_DELIVERED), repeat(None), repeat("trade"), *columns).__next__
    marker = iter([(E_DELIVERED, None, *m) for m in data["markers"]]).__next__
    other = iter([tuple(o) for o in data["others"]]).__next__
    pick = {E_FRAME: frame, E_TRADE: trade, E_DELIVERED: marker}.get
    return [pick(kind, other)() for kind in data["kinds"]]


def file_name(now_ns: int) -> str:
    """``upbitws-20261129T174112123Z.rec.zst`` (UTC, ms): names sort by time. (A writer whose
    name is taken, two files in one millisecond, takes the next millisecond's.)"""
    moment = datetime.fromtimestamp(now_ns // 1_000_000 / 1000, tz=UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{now_ns // 1_000_000 % 1000:03d}Z"
    return f"upbitws-{stamp}.rec.zst"


def is_recording_name(name: str) -> bool:
    return _NAME.match(name) is not None


def parse_header(body: bytes) -> dict[str, Any]:
    """The header record's JSON; refuse versions this code does not know."""
    try:
        header = json.loads(body)
    except ValueError as exc:
        raise RecordingFormatError(f"unreadable recording header: {exc}") from exc
    if not isinstance(header, dict):
        raise RecordingFormatError("unreadable recording header: not a JSON object")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise RecordingFormatError(
            f"recording format version {version!r} is not supported (this upbitws reads "
            f"version {FORMAT_VERSION}); use the upbitws version that wrote it"
        )
    return header


class RecordParser:
    """Decompressed bytes in, ``(kind, body)`` records out; never raises on a damaged tail.

    Feed it the bytes in order; :meth:`end` says how the stream ended: ``None`` when the last
    record was the closing one, otherwise why the tail is incomplete. After corruption (a bad
    CRC, an impossible length or kind) it stops returning records; :attr:`error` says where.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._started = False
        self.closed = False  # the END record was read
        self.error: str | None = None
        self.records = 0
        self.offset = 0  # decompressed bytes consumed

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self.error is not None:
            return []
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        if not self._started:
            if len(buf) < len(MAGIC):
                if not MAGIC.startswith(bytes(buf)):
                    self.error = "not an upbitws recording (bad magic)"
                return out
            if bytes(buf[: len(MAGIC)]) != MAGIC:
                self.error = "not an upbitws recording (bad magic)"
                return out
            del buf[: len(MAGIC)]
            self.offset = len(MAGIC)
            self._started = True
        pos = 0
        size = len(buf)
        while size - pos >= _HEAD.size:
            length, kind, crc = _HEAD.unpack_from(buf, pos)
            if kind not in _KINDS or length > MAX_RECORD:
                self.error = f"corrupt record header at byte {self.offset + pos}"
                break
            end = pos + _HEAD.size + length
            if end > size:
                break
            body = bytes(buf[pos + _HEAD.size : end])
            if zlib.crc32(body) != crc:
                self.error = f"CRC mismatch in the record at byte {self.offset + pos}"
                break
            out.append((kind, body))
            self.records += 1
            if kind == END:
                self.closed = True
            pos = end
        del buf[:pos]
        self.offset += pos
        return out

    def end(self) -> str | None:
        """``None`` for a cleanly closed stream, else what is wrong with its tail."""
        if self.error is not None:
            return self.error
        if not self._started:
            return "empty file (no recording header)" if not self._buf else "truncated header"
        if self._buf:
            return (
                f"truncated tail: {len(self._buf)} bytes of an incomplete record after "
                f"{self.records} complete records"
            )
        if not self.closed:
            return (
                f"no closing record after {self.records} records: the recorder was stopped "
                "without closing the file (killed?)"
            )
        return None


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    """When the recorder writes what it holds: at most ``max_delay`` seconds after the oldest
    held entry (crash safety: SIGKILL loses at most that much) or at ``max_entries``."""

    max_delay: float = 0.1  # also keeps the held frames and messages few (cache-friendly)
    max_entries: int = 20_000

    def __post_init__(self) -> None:
        if not 0 < self.max_delay <= 1.0:
            raise ConfigurationError("the flush delay must be in (0, 1] seconds")
        if self.max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")

    def due(self, now: float, oldest: float | None, entries: int) -> bool:
        """``oldest``: when the oldest held entry was added (None: nothing held)."""
        if oldest is None or entries == 0:
            return False
        return entries >= self.max_entries or now - oldest >= self.max_delay


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """When a file is closed and the next one opened: after ``minutes`` or ``megabytes``
    (compressed bytes written), whichever comes first; ``None`` disables a limit."""

    minutes: float | None = 60.0
    megabytes: float | None = 256.0

    def __post_init__(self) -> None:
        for name, value in (("rotate-minutes", self.minutes), ("rotate-mb", self.megabytes)):
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be a positive number, got {value!r}")

    def due(self, opened: float, now: float, size: int) -> bool:
        """``opened``/``now`` in seconds (monotonic), ``size`` in bytes written so far."""
        if self.minutes is not None and now - opened >= self.minutes * 60:
            return True
        return self.megabytes is not None and size >= self.megabytes * 1_000_000


def _stream_type(value: Any) -> Any:
    return getattr(value, "value", value)


class DeliveryIndex:
    """Resolves delivery markers to the messages decoded from earlier frames.

    The recorder writes, for each message the consumer got, a marker of its keys (type, code,
    ``timestamp``, ``stream_type``, ``sequential_id``) instead of the message again: cheap on
    the live path, and the frame is on disk already. Which earlier frame it names follows the
    stream's buffer policies (``client/buffer.py``, ``client/recovery.py``):

    * **trades** are de-duplicated by ``sequential_id``: the first not yet delivered copy with
      the marker's keys; every other copy of that id is a suppressed duplicate;
    * **conflated types** (ticker, orderbook, candles when ``conflate``): the *latest* frame
      of that (type, code) with the marker's keys; the older ones were conflated away;
    * **queued types** (private types, or everything when not conflating): the *first* one in
      order; any before it were dropped by an overflow.

    Copies nobody names (suppressed duplicates) are forgotten after ``horizon_ns``.
    """

    def __init__(self, *, conflate: bool, horizon_ns: int = 300_000_000_000) -> None:
        self.conflate = conflate  # per file: a later file's header may say otherwise
        self._horizon = horizon_ns
        self._trades: dict[tuple[str, int], list[tuple[int, Any]]] = {}
        self._others: dict[tuple[str, str], deque[tuple[int, Any]]] = {}
        self._names: dict[type, str] = {}  # ``type`` is a property: read it once per class
        self.unresolved = 0

    def _conflates(self, type_: str) -> bool:
        return self.conflate and (type_ in ("ticker", "orderbook") or type_.startswith("candle."))

    def add(self, messages: Iterable[Any], at_ns: int) -> None:
        names = self._names
        for message in messages:
            cls = type(message)
            type_ = names.get(cls)
            if type_ is None:
                # status, error, subscription-list frames (no stream_type) are never delivered
                type_ = names[cls] = message.type if hasattr(message, "stream_type") else ""
            if not type_:
                continue
            if type_ == "trade":
                key = (message.code, message.sequential_id)
                copies = self._trades.get(key)
                if copies is None:
                    self._trades[key] = [(at_ns, message)]
                else:
                    copies.append((at_ns, message))
            else:
                other = (type_, getattr(message, "code", ""))
                self._others.setdefault(other, deque(maxlen=100_000)).append((at_ns, message))

    def prune(self, now_ns: int) -> None:
        """Forget trade copies older than the horizon (never delivered: duplicates)."""
        trades = self._trades
        limit = now_ns - self._horizon
        while trades:
            key = next(iter(trades))
            if trades[key][-1][0] >= limit:
                break
            del trades[key]

    def resolve(
        self, type_: str, code: str, timestamp: int, stream_type: Any, sequential_id: int
    ) -> tuple[int, Any] | None:
        """``(received_ns, message)`` of the delivered message, or ``None`` when no recorded
        frame holds it (its frame was in a file that is missing, or lost to a crash)."""

        def matches(message: Any) -> bool:
            return bool(
                message.timestamp == timestamp
                and _stream_type(getattr(message, "stream_type", None)) == stream_type
            )

        if type_ == "trade":
            key = (code, sequential_id)
            for at, message in self._trades.get(key, ()):
                if message.timestamp == timestamp and message.stream_type == stream_type:
                    del self._trades[key]
                    return at, message
            self.unresolved += 1
            return None
        queue = self._others.get((type_, code))
        if queue:
            size = len(queue)
            order = range(size - 1, -1, -1) if self._conflates(type_) else range(size)
            pick = next((i for i in order if matches(queue[i][1])), None)
            if pick is not None:
                found = queue[pick]
                for _ in range(pick + 1):
                    queue.popleft()
                return found
        self.unresolved += 1
        return None
