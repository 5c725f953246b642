"""Nothing about one frame can end the stream: the whole frame path, fuzzed.

Every real frame of ``tests/data`` is mutated (byte flips, truncation, huge numbers, wrong
types, unknown enum values, nested junk, dropped and added keys, spliced frames, text
frames) and fed to ``Connection._handle_frame`` with the stream's real buffer, trade
recovery (backfill on) and state. Per frame: nothing escapes; exactly one of "handled" or
"skipped and counted" happens, and which one is checked against an independent decode; the
consumer's queue stays bounded.

``make test`` runs ``UPBITWS_FUZZ_EXAMPLES`` (default 10,000) cases; ``make fuzz`` 500,000.
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import upbitws
from upbitws.client.buffer import MessageBuffer
from upbitws.client.connection import Connection
from upbitws.client.options import StreamOptions
from upbitws.client.recovery import TradeRecovery
from upbitws.client.state import MarketState
from upbitws.client.stats import StreamCounters
from upbitws.exceptions import MessageDecodeError
from upbitws.models import ErrorFrame, StatusFrame, SubscriptionList
from upbitws.protocol.backoff import Backoff, BackoffPolicy
from upbitws.protocol.codec import Decoder
from upbitws.protocol.malformed import EVERY
from upbitws.protocol.peek import peek
from upbitws.protocol.subscriptions import CANDLE_UNITS, SubscriptionSet

DATA = Path(__file__).parent.parent / "data"
EXAMPLES = int(os.environ.get("UPBITWS_FUZZ_EXAMPLES", "10000"))
QUEUE = 500
START = time.monotonic()
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_TREE = msgspec.json.Decoder(float_hook=Decimal).decode  # numbers keep their digits


def _seeds() -> list[bytes]:
    """Every fixture that is a frame Upbit sends, minified as on the wire."""
    seeds = []
    for path in sorted(DATA.glob("*.json")):
        raw = msgspec.json.format(path.read_bytes(), indent=0)
        try:
            upbitws.decode(raw)
        except MessageDecodeError:
            continue  # requests, REST bodies, JWT parts: not frames
        seeds.append(raw)
    return seeds


SEEDS = _seeds()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


TREES = [_TREE(s) for s in SEEDS]
PATHS = [_paths(t) for t in TREES]

#: Raw JSON text put in place of a value (what json.dumps cannot spell, or would not).
RAW_JUNK = [
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "18446744073709551616",
    "-9223372036854775809",
    "1e999",
    "-1e999",
    "1e-999",
    "1.7976931348623157e308",
    "4.9e-324",
    "-0",
    "0.000000000000000000000000000000000000000001",
    "[" * 2000 + "]" * 2000,
    '{"a":' * 500 + "1" + "}" * 500,
    '"' + "x" * 70_000 + '"',
    '"\\ud800"',
    '"\\u0000"',
    "NaN",
    "Infinity",
    "1.",
    "01",
    '"\xff"',
]
WIRE_STRINGS = [
    "MID",
    "HALTED",
    "DELTA",
    "snapshot",
    "",
    "trade",
    "ticker",
    "orderbook",
    "candle.1m",
    "candle.2m",
    "myOrder",
    "myAsset",
    "announcement",
    "KRW-BTC",
    "KRW-NOPE",
    "krw-btc",
]
#: Keys the client itself reads after decoding (latency, dedupe, gaps, state, routing).
HOT_KEYS = frozenset(
    {"timestamp", "tms", "trade_timestamp", "ttms", "sequential_id", "sid", "stream_type", "st"}
    | {"code", "cd", "type", "ty", "candle_date_time_utc", "cdttmu", "ask_bid", "ab"}
)
#: Numbers around every limit: int64 / uint64, double range, Python's int-to-str digit cap.
NUMBERS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([18, 19, 20, 30, 308, 309, 400, 4299, 4301]).flatmap(
        lambda k: st.sampled_from([("raw", f"{sign}1{'0' * k}") for sign in ("", "-")])
    ),
    st.sampled_from(RAW_JUNK[:11]).map(lambda raw: ("raw", raw)),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(RAW_JUNK).map(lambda raw: ("raw", raw)),
    st.sampled_from(WIRE_STRINGS),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _junk_for(value: Any) -> st.SearchStrategy[Any]:
    """Mostly junk of the value's own kind (that is what gets past the decoder), else any."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return st.one_of(NUMBERS, NUMBERS, JUNK)
    if isinstance(value, str):
        return st.one_of(st.sampled_from(WIRE_STRINGS), st.text(max_size=12), JUNK)
    return JUNK


def _drop(tree: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        tree = tree[key]
    del tree[path[-1]]


def _dump(tree: Any, raws: list[str]) -> bytes:
    """Encode ``tree``; ``("raw", text)`` leaves become ``text`` verbatim."""

    def swap(value: Any) -> Any:
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "raw":
            raws.append(value[1])
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = _ENCODER.encode(swap(tree)).decode("utf-8", "surrogatepass")
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000RAW{i}\\u0000"', raw)
    return text.encode("utf-8", "surrogateescape")


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes | str:
    index = draw(st.integers(0, len(SEEDS) - 1))
    seed = SEEDS[index]
    kind = draw(
        st.sampled_from(
            [
                "flip",
                "truncate",
                "value",
                "value",
                "value",
                "value",
                "drop",
                "add",
                "splice",
                "wrap",
            ]
        )
    )
    frame: bytes
    event(f"mutation: {kind}")
    if kind == "flip":
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] ^= draw(st.integers(1, 255))
        frame = bytes(data)
    elif kind == "truncate":
        frame = seed[: draw(st.integers(0, len(seed) - 1))]
    elif kind in ("value", "drop", "add"):
        tree = _TREE(seed)
        paths = PATHS[index]
        if draw(st.booleans()):  # REALTIME frames take the latency sample: reach it too
            for obj in tree if isinstance(tree, list) else [tree]:
                if isinstance(obj, dict) and ("stream_type" in obj or "st" in obj):
                    obj["stream_type" if "stream_type" in obj else "st"] = "REALTIME"
        if kind == "add" or not paths:
            target: Any = tree[0] if isinstance(tree, list) else tree
            target[draw(st.sampled_from(["type", "ty", "code", "cd", "zz", "status"]))] = draw(JUNK)
        else:
            hot = [p for p in paths if p[-1] in HOT_KEYS]
            prefer_hot = draw(st.booleans())
            path = draw(st.sampled_from(hot if hot and prefer_hot else paths))
            if kind == "drop":
                _drop(tree, path)
            else:
                _set(tree, path, draw(_junk_for(_get(tree, path))))
        frame = _dump(tree, [])
    elif kind == "splice":
        other = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
        frame = seed[: draw(st.integers(0, len(seed)))] + other[draw(st.integers(0, len(other))) :]
    else:  # a list frame around a mutated or a plain copy
        other = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
        if draw(st.booleans()):
            other = other[: draw(st.integers(1, len(other)))]
        frame = b"[" + seed + b"," + other + b"]"
    if draw(st.integers(0, 9)) == 0:  # text frames (aiohttp hands over str)
        return frame.decode("utf-8", "replace")
    return frame


def _subscriptions() -> SubscriptionSet:
    codes = sorted({k.code for s in SEEDS for k in peek(s) if k.code} | {"KRW-BTC", "KRW-ETH"})
    subs = SubscriptionSet(
        [
            upbitws.ticker(*codes),
            upbitws.trade(*codes),
            upbitws.orderbook(*codes),
            *(upbitws.candle(unit, *codes) for unit in CANDLE_UNITS),
        ]
    )
    subs.add(upbitws.my_order(), upbitws.my_asset(), upbitws.announcement())
    return subs


@functools.cache
def _path() -> tuple[Connection, MessageBuffer, StreamCounters, SubscriptionSet]:
    """One connection for every example: state, gaps and rate limits carry over, as live."""
    desired = _subscriptions()
    options = StreamOptions(backfill=True, backfill_hold=50)
    buffer = MessageBuffer(QUEUE)
    counters = StreamCounters()
    state = MarketState()
    recovery = TradeRecovery(options=options, buffer=buffer, counters=counters, state=state)
    recovery.connection_ready("public", desired.keys())
    conn = Connection(
        "public",
        "ws://127.0.0.1:9/websocket/v1",
        options=options,
        session=cast("Any", None),  # never used: no connection is opened
        desired=lambda: desired,
        buffer=buffer,
        counters=counters,
        backoff=Backoff(BackoffPolicy(), random.Random(0).random),
        recovery=recovery,
        state=state,
    )
    return conn, buffer, counters, desired


_ORACLE: Callable[[bytes | str], list[Any]] = Decoder().decode
_CONTROL = (StatusFrame, ErrorFrame, SubscriptionList)


def _expected(frame: bytes | str) -> list[Any] | None:
    try:
        return _ORACLE(frame)
    except MessageDecodeError:
        return None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frame=mutated_frames())
def test_no_frame_escapes_the_frame_path(frame: bytes | str) -> None:
    conn, buffer, counters, desired = _path()
    before = (
        counters.frames_received,
        counters.decode_errors,
        counters.frame_errors,
        sum(counters.received.values()) + counters.unsubscribed_dropped,
    )
    conn._latency_due = 0.0  # sample latency on every frame: its arithmetic is in the path
    conn._handle_frame(frame)  # must not raise, whatever the frame
    messages = _expected(frame)
    assert counters.frames_received == before[0] + 1
    event("skipped: did not decode" if messages is None else "decoded")
    if messages is None:
        assert counters.decode_errors == before[1] + 1
        assert counters.frame_errors == before[2]
    else:
        assert counters.decode_errors == before[1]
        data = [m for m in messages if not isinstance(m, _CONTROL)]
        accounted = sum(counters.received.values()) + counters.unsubscribed_dropped - before[3]
        if counters.frame_errors == before[2]:
            assert accounted == len(data)
        else:
            event("skipped: handling raised")
            assert counters.frame_errors == before[2] + 1
    # Bounded: queued messages, one conflated entry per subscribed key, and events that are
    # announced at most once per key and window (trade gaps never close here: no worker;
    # nothing consumes, so a long run keeps every window's events).
    windows = 2 + int((time.monotonic() - START) // EVERY)
    assert len(buffer) <= QUEUE + 6 * (len(desired.keys()) + 1) * windows


def test_the_seeds_cover_every_frame_kind() -> None:
    kinds = {k.type or ("control" if k.control else None) for s in SEEDS for k in peek(s)}
    assert {"ticker", "trade", "orderbook", "myOrder", "myAsset", "announcement"} <= kinds
    assert "control" in kinds
    assert any(k.startswith("candle.") for k in kinds if k)
    assert len(SEEDS) >= 25


def test_a_trade_with_a_timestamp_beyond_float_is_skipped_not_fatal() -> None:
    conn, _buffer, counters, _ = _path()
    trade = json.loads((DATA / "trade_default.json").read_text())
    trade.update(stream_type="REALTIME", timestamp=10**400, code="KRW-ETH")
    errors = counters.frame_errors
    conn._latency_due = 0.0
    conn._handle_frame(json.dumps(trade).encode())
    assert counters.frame_errors == errors + 1
