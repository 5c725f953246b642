"""Serve a recording: the simulator's markets replay recorded frames instead of a random tape.

``upbitws simulate --replay DIR [--speed X]`` (or ``Simulator(replay=DIR, replay_speed=X)``)
serves the recorded public (type, code)s. Clients subscribe as to Upbit; they get, paced by
the recorded times (``replay_speed`` times faster), starting when the first client subscribes:

* trades as the recording's consumer got them: de-duplicated, gaps filled from REST, in
  order, ``sequential_id`` kept (the tape a backtest wants);
* every other recorded realtime frame (ticker, orderbook as recorded — requested depth and
  level are not re-computed —, candles);
* a SNAPSHOT on subscribing: the latest replayed message of that (type, code).

Times are re-stamped to now: ``timestamp`` and ``trade_timestamp`` move by the same offset
(so the publication delay is kept), ``trade_date`` / ``trade_time`` follow. Private frames
are never served. The replay stops at the end of the recording (the connections stay open).

Reads recordings through :mod:`upbitws.protocol.recordfile` (the simulator never imports the
client side); needs the ``[record]`` extra (``zstandard``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from upbitws.exceptions import ConfigurationError, MessageDecodeError, MissingExtraError
from upbitws.models import StreamType, Ticker, Trade
from upbitws.protocol.codec import Decoder
from upbitws.protocol.recordfile import (
    BATCH,
    E_DELIVERED,
    E_FRAME,
    E_OPENED,
    E_RECOVERED,
    HEADER,
    DeliveryIndex,
    RecordParser,
    decode_batch,
    is_recording_name,
    parse_header,
)
from upbitws.simulator.engine import Exchange, Key, Subscriber

if TYPE_CHECKING:
    from decimal import Decimal

    from upbitws.simulator.catalog import MarketSpec

__all__ = ["ReplayExchange", "recorded_codes", "recording_paths", "replay_exchange"]

log = logging.getLogger("upbitws.simulator.replay")

_CHUNK: Final = 1 << 20
_REALTIME: Final = StreamType.REALTIME


def recording_paths(path: str | Path) -> list[Path]:
    p = Path(path)
    files = sorted(f for f in p.iterdir() if is_recording_name(f.name)) if p.is_dir() else [p]
    if not files or not files[0].is_file():
        raise ConfigurationError(f"no upbitws recording at {p}")
    return files


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError as exc:
        raise MissingExtraError("serving a recording", "record") from exc
    return zstandard


def _records(files: Iterable[Path]) -> Iterator[tuple[int, bytes]]:
    """Every complete record of every file (a damaged tail ends that file, with a log line)."""
    zstandard = _zstd()
    for file in files:
        parser = RecordParser()
        decompressor = zstandard.ZstdDecompressor().decompressobj()
        with file.open("rb") as f:
            while chunk := f.read(_CHUNK):
                try:
                    data = decompressor.decompress(chunk)
                except zstandard.ZstdError:
                    break
                yield from parser.feed(data)
                if parser.error is not None:
                    break
        problem = parser.end()
        if problem is not None:
            log.info("replay: %s: %s", file.name, problem)


def recorded_codes(path: str | Path) -> list[str]:
    """The public market codes of a recording, from its first header."""
    for kind, body in _records(recording_paths(path)[:1]):
        if kind == HEADER:
            header = parse_header(body)
            codes = {
                code
                for sub in header.get("subscriptions", [])
                if sub["type"] not in ("myOrder", "myAsset", "announcement")
                for code in sub["codes"]
            }
            if codes:
                return sorted(codes)
        break
    raise ConfigurationError(f"the recording at {path} has no public market subscriptions")


def _timeline(files: list[Path]) -> Iterator[tuple[int, Any]]:
    """``(recorded wall ns, message)`` in recorded order (see the module docstring)."""
    decode = Decoder("decimal").decode
    public: set[int] = set()
    index: DeliveryIndex | None = None
    for kind, body in _records(files):
        if kind == HEADER:
            conflate = bool(parse_header(body).get("options", {}).get("conflate", True))
            if index is None:
                index = DeliveryIndex(conflate=conflate)
            index.conflate = conflate
            continue
        if kind != BATCH or index is None:
            continue
        for entry in decode_batch(body):
            tag = entry[0]
            if tag == E_OPENED:
                if entry[3] == "public":
                    public.add(entry[1])
            elif tag == E_FRAME:
                if entry[1] not in public:
                    continue  # private frames are never served
                try:
                    messages = decode(entry[4])
                except MessageDecodeError:
                    continue
                index.add(messages, entry[2])
                for m in messages:
                    if getattr(m, "stream_type", None) is _REALTIME and m.type != "trade":
                        yield entry[2], m
            elif tag == E_DELIVERED and entry[2] == "trade":
                found = index.resolve(*entry[2:7])
                if found is not None:
                    yield found  # at its frame's receive time
            elif tag == E_RECOVERED:
                yield entry[1], decode(entry[2])[0]


def _restamp(message: Any, now_ms: int, stream_type: StreamType) -> Any:
    shift = now_ms - message.timestamp
    changes: dict[str, Any] = {"timestamp": now_ms, "stream_type": stream_type}
    if isinstance(message, Trade | Ticker):
        traded = message.trade_timestamp + shift
        moment = datetime.fromtimestamp(traded / 1000, tz=UTC)
        changes["trade_timestamp"] = traded
        if isinstance(message, Trade):
            changes["trade_date"] = moment.strftime("%Y-%m-%d")
            changes["trade_time"] = moment.strftime("%H:%M:%S")
        else:
            changes["trade_date"] = moment.strftime("%Y%m%d")
            changes["trade_time"] = moment.strftime("%H%M%S")
    return msgspec.structs.replace(message, **changes)


class ReplayExchange(Exchange):
    """An :class:`Exchange` whose markets replay a recording (see the module docstring)."""

    def __init__(
        self,
        specs: Iterable[MarketSpec],
        *,
        path: str | Path,
        speed: float,
        seed: int,
        history_size: int,
    ) -> None:
        super().__init__(specs, seed=seed, trade_rate=1.0, history_size=history_size)
        if not speed > 0:
            raise ConfigurationError(f"the replay speed must be > 0, got {speed!r}")
        self._files = recording_paths(path)
        self.speed = speed
        self._latest: dict[Key, Any] = {}
        self._subscribed = asyncio.Event()
        self.replayed = 0
        self.finished = asyncio.Event()

    def start(self) -> None:
        """No random tape: the recording is the market."""

    def subscribe(self, sub: Subscriber, keys: set[Key]) -> None:
        super().subscribe(sub, keys)
        if keys:
            self._subscribed.set()  # the replay clock starts with the first subscriber

    async def run(self) -> None:
        await self._subscribed.wait()
        loop = asyncio.get_running_loop()
        first: int | None = None
        start = loop.time()
        timeline = _timeline(self._files)
        while True:
            item = await asyncio.to_thread(_next_batch, timeline)
            if not item:
                break
            for wall, message in item:
                if first is None:
                    first = wall
                due = start + (wall - first) / 1e9 / self.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._serve(message)
        log.info("replay: end of the recording (%d messages served)", self.replayed)
        self.finished.set()

    def _serve(self, message: Any) -> None:
        if message.code not in self.markets:
            return
        now_ms = int(time.time() * 1000)
        live = _restamp(message, now_ms, _REALTIME)
        key = (live.type, live.code)
        self._latest[key] = live
        self.replayed += 1
        if live.type == "trade":
            self.trade_count += 1
        self._fan_out(key, lambda: live)

    def snapshot(self, type_: str, code: str, depth: int, level: Decimal) -> Any:
        latest = self._latest.get((type_, code))
        if latest is None:
            return None
        return _restamp(latest, int(time.time() * 1000), StreamType.SNAPSHOT)


def _next_batch(timeline: Iterator[tuple[int, Any]], size: int = 2_000) -> list[tuple[int, Any]]:
    """Read ahead off the event loop (decompressing and decoding are blocking work)."""
    batch = []
    for item in timeline:
        batch.append(item)
        if len(batch) >= size:
            break
    return batch


def replay_exchange(config: Any) -> ReplayExchange:
    """The exchange of ``Simulator(replay=PATH, replay_speed=X)``: the recorded markets."""
    from upbitws.simulator.catalog import build_catalog

    assert config.replay is not None
    return ReplayExchange(
        build_catalog(recorded_codes(config.replay), None),
        path=config.replay,
        speed=config.replay_speed,
        seed=config.seed,
        history_size=config.history_size,
    )
