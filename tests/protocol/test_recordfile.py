"""The recording format and the recorder's decisions, pure: no event loop, no files, no clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import upbitws
from upbitws.exceptions import ConfigurationError, RecordingFormatError
from upbitws.models import StreamType
from upbitws.protocol.recordfile import (
    BATCH,
    END,
    FORMAT_VERSION,
    HEADER,
    MAGIC,
    DeliveryIndex,
    FlushPolicy,
    RecordParser,
    RotationPolicy,
    encode_record,
    file_name,
    is_recording_name,
    parse_header,
)

DATA = Path(__file__).resolve().parents[1] / "data"
HEAD = json.dumps({"format_version": FORMAT_VERSION}).encode()


def _fixture(name: str) -> Any:
    return upbitws.decode((DATA / name).read_bytes())[0]


TRADE = _fixture("trade_default.json")
TICKER = _fixture("ticker_default.json")
ORDER = _fixture("myorder_default.json")


def _stream(*records: tuple[int, bytes]) -> bytes:
    return MAGIC + b"".join(encode_record(kind, body) for kind, body in records)


# -- framing ------------------------------------------------------------------------------------


def test_records_round_trip_fed_in_any_split() -> None:
    data = _stream((HEADER, HEAD), (BATCH, b"\x90"), (BATCH, b"x" * 1000), (END, b"{}"))
    for step in (1, 7, len(data)):
        parser = RecordParser()
        got = []
        for i in range(0, len(data), step):
            got += parser.feed(data[i : i + step])
        assert got == [(HEADER, HEAD), (BATCH, b"\x90"), (BATCH, b"x" * 1000), (END, b"{}")]
        assert parser.closed
        assert parser.end() is None
        assert parser.records == 4
        assert parser.offset == len(data)


def test_a_cut_record_is_a_truncated_tail_and_what_precedes_it_is_kept() -> None:
    data = _stream((HEADER, HEAD), (BATCH, b"abc"), (BATCH, b"defgh"))
    parser = RecordParser()
    assert parser.feed(data[:-2]) == [(HEADER, HEAD), (BATCH, b"abc")]
    reason = parser.end()
    assert reason is not None
    assert reason.startswith("truncated tail")
    assert "after 2 complete records" in reason


def test_a_file_without_its_closing_record_says_so() -> None:
    parser = RecordParser()
    assert len(parser.feed(_stream((HEADER, HEAD)))) == 1
    reason = parser.end()
    assert reason is not None
    assert "no closing record" in reason


def test_empty_and_cut_headers() -> None:
    assert RecordParser().end() == "empty file (no recording header)"
    parser = RecordParser()
    assert parser.feed(MAGIC[:5]) == []
    assert parser.error is None
    assert parser.end() == "truncated header"


@pytest.mark.parametrize("data", [b"PK\x03", b"NOT-A-RECORDING-FILE"])
def test_other_files_are_refused_by_their_magic(data: bytes) -> None:
    parser = RecordParser()
    assert parser.feed(data) == []
    assert parser.error == "not an upbitws recording (bad magic)"
    assert parser.end() == parser.error


def test_a_bad_crc_stops_the_read_where_it_is() -> None:
    good = encode_record(BATCH, b"fine")
    bad = bytearray(encode_record(BATCH, b"data"))
    bad[-1] ^= 0xFF
    parser = RecordParser()
    assert parser.feed(MAGIC + good + bytes(bad) + good) == [(BATCH, b"fine")]
    assert parser.error is not None
    assert parser.error.startswith("CRC mismatch")
    assert parser.feed(good) == []  # nothing after corruption is trusted
    assert parser.end() == parser.error


@pytest.mark.parametrize(
    "head", [bytes([5, 0, 0, 0, 99, 0, 0, 0, 0]), bytes([0, 0, 0, 0x7F, 2, 0, 0, 0, 0])]
)
def test_an_impossible_record_header_is_corruption(head: bytes) -> None:
    parser = RecordParser()
    assert parser.feed(MAGIC + head + b"x" * 16) == []
    assert parser.error is not None
    assert parser.error.startswith("corrupt record header")


# -- names and headers ----------------------------------------------------------------------------


def test_file_names_sort_by_time_and_are_recognised() -> None:
    ns = 1_795_974_000_123_456_789
    first, later = file_name(ns), file_name(ns + 1_000_000)
    assert first == "upbitws-20261129T174000123Z.rec.zst"
    assert sorted([later, first]) == [first, later]
    assert is_recording_name(first)
    assert not is_recording_name("notes.txt")
    assert not is_recording_name("upbitws-20261129T174000123Z-2.rec.zst")


def test_headers_are_checked() -> None:
    assert parse_header(HEAD) == {"format_version": FORMAT_VERSION}
    with pytest.raises(RecordingFormatError, match="unreadable"):
        parse_header(b"{nope")
    with pytest.raises(RecordingFormatError, match="not a JSON object"):
        parse_header(b"[1]")
    with pytest.raises(RecordingFormatError, match="version 99 is not supported"):
        parse_header(b'{"format_version": 99}')


# -- decisions ----------------------------------------------------------------------------------


def test_flush_at_the_delay_or_the_entry_bound() -> None:
    policy = FlushPolicy(max_delay=0.5, max_entries=3)
    assert not policy.due(10.0, None, 0)
    assert not policy.due(10.0, 9.9, 0)
    assert not policy.due(10.0, 9.6, 2)
    assert policy.due(10.0, 9.5, 1)
    assert policy.due(10.0, 10.0, 3)


@pytest.mark.parametrize("kwargs", [{"max_delay": 0}, {"max_delay": 1.5}, {"max_entries": 0}])
def test_flush_policy_refuses_what_breaks_crash_safety(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        FlushPolicy(**kwargs)


def test_rotation_by_minutes_or_megabytes() -> None:
    policy = RotationPolicy(minutes=1, megabytes=1)
    assert not policy.due(100.0, 159.9, 999_999)
    assert policy.due(100.0, 160.0, 0)
    assert policy.due(100.0, 100.0, 1_000_000)
    never = RotationPolicy(minutes=None, megabytes=None)
    assert not never.due(0.0, 1e9, 10**12)


@pytest.mark.parametrize("kwargs", [{"minutes": 0}, {"megabytes": -1}])
def test_rotation_limits_must_be_positive(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="must be a positive number"):
        RotationPolicy(**kwargs)


# -- delivery markers ---------------------------------------------------------------------------


def _marker(message: Any) -> tuple[str, str, int, Any, int]:
    return (
        message.type,
        getattr(message, "code", ""),
        message.timestamp,
        message.stream_type.value,
        getattr(message, "sequential_id", 0),
    )


def _copy(message: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(message, **changes)


def test_a_trade_marker_names_the_first_matching_copy_and_forgets_the_others() -> None:
    index = DeliveryIndex(conflate=True)
    snapshot = _copy(TRADE, stream_type=StreamType.SNAPSHOT)
    live = _copy(TRADE, stream_type=StreamType.REALTIME, timestamp=TRADE.timestamp + 5)
    index.add([live], 1)
    index.add([snapshot], 2)  # the same trade re-sent after a reconnect: a duplicate
    assert index.resolve(*_marker(live)) == (1, live)
    assert index.resolve(*_marker(snapshot)) is None  # suppressed: never delivered twice
    assert index.unresolved == 1


def test_a_trade_held_then_delivered_from_a_later_copy_is_found_by_its_keys() -> None:
    index = DeliveryIndex(conflate=True)
    held = _copy(TRADE, stream_type=StreamType.REALTIME)
    later = _copy(TRADE, stream_type=StreamType.SNAPSHOT, timestamp=TRADE.timestamp + 900)
    index.add([held, later], 7)
    assert index.resolve(*_marker(later)) == (7, later)


def test_a_conflated_marker_names_the_latest_and_drops_what_was_conflated_away() -> None:
    index = DeliveryIndex(conflate=True)
    a = _copy(TICKER, timestamp=1, stream_type=StreamType.REALTIME)
    b = _copy(TICKER, timestamp=2, stream_type=StreamType.REALTIME, trade_price=1)
    c = _copy(TICKER, timestamp=2, stream_type=StreamType.REALTIME, trade_price=2)
    d = _copy(TICKER, timestamp=3, stream_type=StreamType.REALTIME)
    index.add([a, b, c, d], 1)
    assert index.resolve(*_marker(c)) == (1, c)  # two of the same ms: the latest was queued
    assert index.resolve(*_marker(a)) is None  # gone: conflated away
    assert index.resolve(*_marker(d)) == (1, d)


def test_queued_types_are_first_in_first_out_past_overflow_drops() -> None:
    index = DeliveryIndex(conflate=False)
    first = _copy(TICKER, timestamp=1, stream_type=StreamType.REALTIME)
    again = _copy(TICKER, timestamp=1, stream_type=StreamType.REALTIME, trade_price=9)
    dropped = _copy(TICKER, timestamp=2, stream_type=StreamType.REALTIME)
    kept = _copy(TICKER, timestamp=3, stream_type=StreamType.REALTIME)
    index.add([first, again, dropped, kept], 4)
    assert index.resolve(*_marker(first)) == (4, first)
    assert index.resolve(*_marker(kept)) == (4, kept)  # `again` and `dropped` were dropped
    assert index.resolve(*_marker(again)) is None
    orders = DeliveryIndex(conflate=True)
    orders.add([ORDER], 5)
    assert orders.resolve(*_marker(ORDER)) == (5, ORDER)  # private types always queue


def test_frames_that_are_not_data_are_not_indexed_and_unknown_markers_resolve_to_none() -> None:
    index = DeliveryIndex(conflate=True)
    index.add(upbitws.decode(b'{"status":"UP"}'), 1)
    assert index.resolve("ticker", "KRW-BTC", 1, "REALTIME", 0) is None
    assert index.resolve("trade", "KRW-BTC", 1, "REALTIME", 42) is None
    assert index.unresolved == 2


def test_trade_copies_nobody_names_are_pruned_after_the_horizon() -> None:
    index = DeliveryIndex(conflate=True, horizon_ns=100)
    old = _copy(TRADE, sequential_id=1)
    new = _copy(TRADE, sequential_id=2)
    index.add([old], 0)
    index.add([new], 150)
    index.prune(150)  # old: 150 ns ago > horizon
    assert index.resolve(*_marker(old)) is None
    assert index.resolve(*_marker(new)) == (150, new)
    index.prune(10**12)  # nothing left: nothing to do


# -- batches ------------------------------------------------------------------------------------


def test_a_batch_gives_back_its_entries_in_order() -> None:
    from upbitws.protocol.recordfile import (
        E_DELIVERED,
        E_EVENT,
        E_FRAME,
        E_REQUEST,
        E_TRADE,
        decode_batch,
        encode_batch,
    )

    kinds = bytes([E_REQUEST, E_FRAME, E_FRAME, E_TRADE, E_DELIVERED, E_EVENT])
    body = encode_batch(
        kinds,
        1_000,
        [1, 2],
        [10, 20],
        [b'{"type":"trade"}', '{"text":"frame"}'],
        [["KRW-BTC"], [5], ["REALTIME"], [42]],
        [("ticker", "KRW-BTC", 6, "REALTIME", 0)],
        [(E_REQUEST, 1, 7, 8, "[...]"), (E_EVENT, 9, {"event": "Connected"})],
    )
    assert decode_batch(body) == [
        (E_REQUEST, 1, 7, 8, "[...]"),
        (E_FRAME, 1, 1_010, 10, b'{"type":"trade"}'),  # wall = monotonic + offset
        (E_FRAME, 2, 1_020, 20, '{"text":"frame"}'),  # a text frame stays text
        (E_DELIVERED, None, "trade", "KRW-BTC", 5, "REALTIME", 42),
        (E_DELIVERED, None, "ticker", "KRW-BTC", 6, "REALTIME", 0),
        (E_EVENT, 9, {"event": "Connected"}),
    ]


def test_a_batch_without_its_columns_is_refused() -> None:
    from upbitws.protocol.recordfile import decode_batch

    with pytest.raises(RecordingFormatError, match="without its columns"):
        decode_batch(msgspec.msgpack.encode([1, 2, 3]))
    with pytest.raises(RecordingFormatError, match="without its columns"):
        decode_batch(msgspec.msgpack.encode({"kinds": b""}))


def test_a_batch_without_trades_has_empty_trade_columns() -> None:
    from upbitws.protocol.recordfile import E_FRAME, decode_batch, encode_batch

    body = encode_batch(bytes([E_FRAME]), 0, [1], [5], [b"{}"], [], [], [])
    assert decode_batch(body) == [(E_FRAME, 1, 5, 5, b"{}")]


# -- properties ---------------------------------------------------------------------------------

_bodies = st.lists(st.binary(max_size=64), min_size=1, max_size=8)


@given(_bodies, st.data())
def test_any_cut_reads_a_prefix_of_the_records_and_says_why(
    bodies: list[bytes], data: st.DataObject
) -> None:
    records = [(HEADER, HEAD), *((BATCH, b) for b in bodies), (END, b"{}")]
    stream = _stream(*records)
    cut = data.draw(st.integers(min_value=0, max_value=len(stream)))
    chunk = data.draw(st.integers(min_value=1, max_value=32))
    parser = RecordParser()
    got: list[tuple[int, bytes]] = []
    for i in range(0, cut, chunk):
        got += parser.feed(stream[i : min(i + chunk, cut)])
    assert got == records[: len(got)]  # never a wrong record, never an exception
    assert parser.error is None
    assert (parser.end() is None) == (cut == len(stream))
