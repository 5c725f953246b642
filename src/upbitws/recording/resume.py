"""Resuming a recording: where the trade tape of the recording in a directory ends."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from upbitws.exceptions import ConfigurationError
from upbitws.models import Trade
from upbitws.protocol.backfill import TradeMark
from upbitws.recording._serial import subscriptions_from_list
from upbitws.recording.reader import RecordingReader, recording_files
from upbitws.recording.replay import Replay

if TYPE_CHECKING:
    from pathlib import Path

    from upbitws.protocol.subscriptions import SubscriptionSet

__all__ = ["last_trades"]


def last_trades(
    directory: Path, subscriptions: SubscriptionSet
) -> dict[str, tuple[TradeMark, set[int]]]:
    """Blocking: the recording already in the directory; per trade code, its last
    recorded trade and the ids of that trade's millisecond."""
    if not directory.is_dir():
        return {}
    try:
        files = recording_files(directory)
    except ConfigurationError:
        return {}  # an empty or unrelated directory: a new recording
    reader = RecordingReader(files[-1])
    previous: dict[str, Any] | None = None
    with contextlib.suppress(StopIteration):
        kind, value = next(iter(reader))
        previous = value if kind == "header" else None
    if previous is None:
        for file in reversed(files[:-1]):
            headers = RecordingReader(file)
            with contextlib.suppress(StopIteration):
                previous = next(iter(headers))[1]
                break
    if previous is None:
        return {}
    theirs = subscriptions_from_list(previous["subscriptions"], previous["format"])
    if theirs != subscriptions:
        raise ConfigurationError(
            f"{directory} holds a recording of other subscriptions "
            f"({sorted(theirs.keys())}); record into another directory"
        )
    keys = subscriptions.keys()
    codes = {code for type_, code in keys if type_ == "trade"}
    if not codes:
        return {}
    last: dict[str, Trade[Any]] = {}
    same_ms: dict[str, set[int]] = {}
    for tail in (files[-2:], files):
        last.clear()
        same_ms.clear()
        for _, item in Replay(tail, types=["trade"], include_events=False).delivered():
            if not isinstance(item, Trade) or item.code not in codes:
                continue
            prev = last.get(item.code)
            if prev is None or prev.trade_timestamp != item.trade_timestamp:
                same_ms[item.code] = set()
            same_ms[item.code].add(item.sequential_id)
            last[item.code] = item
        if set(last) == codes or tail is files:
            break
    return {
        code: (
            TradeMark(trade.sequential_id, trade.trade_timestamp),
            same_ms[code] - {trade.sequential_id},
        )
        for code, trade in last.items()
    }
