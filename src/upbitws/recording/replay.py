"""Replay: a recording yields again exactly what the live stream's consumer got, in order.

::

    async with upbitws.replay("data/") as stream:      # or: for item in upbitws.replay(...)
        async for message in stream:
            ...

Messages come from the recorded frames, decoded again (``numbers`` as asked), picked by the
delivery markers the recorder wrote (:class:`~upbitws.protocol.recordfile.DeliveryIndex`);
recovered trades come back as :class:`~upbitws.RecoveredTrade`; lifecycle events are rebuilt
and passed to :meth:`Replay.on_event` callbacks (and yielded when the live stream yielded
them). ``speed=None`` replays as fast as possible, ``1.0`` in real time, ``10`` ten times
faster (paced by the recorded wall-clock times).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, Literal, Self

from upbitws.client.state import MarketState
from upbitws.client.stats import StatsSnapshot, StreamCounters
from upbitws.exceptions import ConfigurationError, MessageDecodeError
from upbitws.models import RecoveredTrade, Trade
from upbitws.protocol.codec import Decoder
from upbitws.protocol.recordfile import (
    E_DELIVERED,
    E_EVENT,
    E_FRAME,
    E_RECOVERED,
    DeliveryIndex,
)
from upbitws.recording._serial import EVENT_CLASSES, event_from_dict
from upbitws.recording.reader import RecordingPath, RecordingReader

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

__all__ = ["Replay", "replay"]

_EVENT_TYPES: Final = frozenset(EVENT_CLASSES.values())
_PRUNE_EVERY: Final = 10_000
EventCallback = Callable[[Any], Any]


def recovered_trade(trade: Trade[Any]) -> RecoveredTrade[Any]:
    return RecoveredTrade(**{name: getattr(trade, name) for name in trade.__struct_fields__})


class Replay:
    """A recording, used like a live stream; see the module docstring and :func:`replay`."""

    def __init__(
        self,
        path: RecordingPath,
        *,
        speed: float | None = None,
        numbers: Literal["decimal", "float"] = "decimal",
        types: Iterable[str] | None = None,
        codes: Iterable[str] | None = None,
        include_events: bool | None = None,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ConfigurationError(f"speed must be a positive number or None, got {speed!r}")
        self._reader = RecordingReader(path)
        self._decoder = Decoder(numbers)
        self.speed = speed
        self._types = frozenset(types) if types is not None else None
        self._codes = frozenset(codes) if codes is not None else None
        self._include_events = include_events
        self._callbacks: list[EventCallback] = []
        self._counters = StreamCounters()
        self._state = MarketState()
        self._items: Iterator[tuple[int, Any]] | None = None
        self._pace: tuple[int, float] | None = None  # (first wall ns, monotonic start)
        self._names: dict[type, str] = {}
        self.unresolved = 0

    # -- like a Stream ----------------------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        return self._reader.files

    @property
    def warnings(self) -> list[str]:
        """Damaged tails and unresolved markers met so far (also logged)."""
        return self._reader.warnings

    @property
    def headers(self) -> list[dict[str, Any]]:
        """The header of every file read so far."""
        return self._reader.headers

    @property
    def state(self) -> MarketState:
        return self._state

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event)`` for every recorded lifecycle event, in order."""
        self._callbacks.append(callback)
        return callback

    def stats(self) -> StatsSnapshot:
        return self._counters.snapshot(
            now=time.time(), monotonic=time.monotonic(), queue_depth=0, conflated={}, dropped={}
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if self._items is not None:
            self._items = iter(())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- iteration --------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                wall, item = next(self._iterate())
            except StopIteration:
                raise StopAsyncIteration from None
            delay = self._delay(wall)
            if delay > 0:
                await asyncio.sleep(delay)
            if type(item) in _EVENT_TYPES:
                for callback in self._callbacks:
                    result = callback(item)
                    if asyncio.iscoroutine(result):
                        await result
                if not self._events_yielded():
                    continue
            return item

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        items = self._iterate()
        while True:
            wall, item = next(items)
            if self.speed is not None:
                delay = self._delay(wall)
                if delay > 0:
                    time.sleep(delay)
            if type(item) in _EVENT_TYPES:
                for callback in self._callbacks:
                    result = callback(item)
                    if asyncio.iscoroutine(result):
                        result.close()
                        raise ConfigurationError("async on_event callbacks need async iteration")
                if not self._events_yielded():
                    continue
            return item

    def _events_yielded(self) -> bool:
        if self._include_events is not None:
            return self._include_events
        headers = self._reader.headers
        return bool(headers and headers[-1].get("options", {}).get("include_events"))

    def _delay(self, wall: int) -> float:
        if self.speed is None:
            return 0.0
        if self._pace is None:
            self._pace = (wall, time.monotonic())
            return 0.0
        first, start = self._pace
        return start + (wall - first) / 1e9 / self.speed - time.monotonic()

    def _iterate(self) -> Iterator[tuple[int, Any]]:
        if self._items is None:
            self._items = self._generate()
        return self._items

    def _generate(self) -> Iterator[tuple[int, Any]]:
        """``(wall_ns, item)`` for everything the live consumer got, filtered."""
        filtered = self._types is not None or self._codes is not None
        count = self._count
        for pair in self.delivered():
            if not filtered or self._wanted(pair[1]):
                count(pair[1])
                yield pair

    def delivered(self) -> Iterator[tuple[int, Any]]:
        """Unfiltered ``(received_ns, item)``: receive time of a message's frame, delivery
        time of recovered trades and events."""
        decode = self._decoder.decode
        counters = self._counters
        index: DeliveryIndex | None = None
        frames = 0
        for kind, value in self._reader:
            if kind == "header":
                conflate = bool(value.get("options", {}).get("conflate", True))
                if index is None:
                    index = DeliveryIndex(conflate=conflate)
                index.conflate = conflate
                continue
            assert index is not None
            for entry in value:
                tag = entry[0]
                if tag == E_FRAME:
                    data = entry[4]
                    counters.frames_received += 1
                    counters.bytes_received += len(data)
                    try:
                        messages = decode(data)
                    except MessageDecodeError:
                        counters.decode_errors += 1
                        continue
                    index.add(messages, entry[2])
                    frames += 1
                    if frames % _PRUNE_EVERY == 0:
                        index.prune(entry[2])
                elif tag == E_DELIVERED:
                    found = index.resolve(*entry[2:7])
                    if found is None:
                        self.unresolved += 1
                        continue
                    yield found
                elif tag == E_RECOVERED:
                    trade = decode(entry[2])[0]
                    yield entry[1], recovered_trade(trade)
                elif tag == E_EVENT:
                    yield entry[1], event_from_dict(entry[2])
        if self.unresolved:
            self._reader.warnings.append(
                f"{self.unresolved} delivered messages whose frames are not in the recording "
                "(a file missing, or lost to a crash) were skipped"
            )

    def _wanted(self, item: Any) -> bool:
        types, codes = self._types, self._codes
        if types is None and codes is None:
            return True
        type_ = getattr(item, "type", None)
        code = getattr(item, "code", None)
        if types is not None and type_ is not None and type_ not in types:
            return False
        return codes is None or code is None or code in codes

    def _count(self, item: Any) -> None:
        counters = self._counters
        cls = type(item)
        if cls in _EVENT_TYPES:
            event = cls.__name__
            if event == "GapDetected":
                counters.gaps_opened += 1
            elif event == "GapFilled":
                counters.gaps_filled += 1
            elif event == "GapUnrecoverable":
                counters.gaps_unrecoverable += 1
            return
        name: str | None = self._names.get(cls)
        if name is None:
            name = self._names[cls] = item.type  # a property: read once per class
        counters.received[name] = counters.received.get(name, 0) + 1
        if isinstance(item, Trade):
            self._state.add_trade(item)
            if isinstance(item, RecoveredTrade):
                counters.trades_recovered += 1
        else:
            self._state.update(item)


def replay(
    path: RecordingPath,
    *,
    speed: float | None = None,
    numbers: Literal["decimal", "float"] = "decimal",
    types: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    include_events: bool | None = None,
) -> Replay:
    """A recording (a directory or one file) as a stream: ``async for`` / ``for``, ``on_event``,
    ``.state``, ``.stats()``. ``include_events=None`` yields events when the live stream did."""
    return Replay(
        path, speed=speed, numbers=numbers, types=types, codes=codes, include_events=include_events
    )
