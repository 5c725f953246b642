"""Hostile and drifting frames against a real stream (a scripted server on loopback).

* nothing about one frame ends the stream (a trade timestamp beyond float range);
* schema drift loses nothing: unknown enum values decode with their raw text, a frame that
  still fails to decode is announced as a gap for its type and code, and a trade's gap is
  backfilled like any other;
* messages for codes nobody subscribed are dropped and counted, never buffered or stored;
* a flood of malformed frames is a handful of log lines, not one per frame.
"""

# The scripted server is no Upbit: it serves no market list, so the streams here skip the
# market check (check_markets=False), which has its own tests in test_markets.py.

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import upbitws
from upbitws import (
    GapDetected,
    GapFilled,
    GapUnrecoverable,
    RecoveredTrade,
    Ticker,
    Trade,
)
from upbitws.models import AskBid, MarketState, StreamType

from .conftest import eventually
from .scripted import hostile_server, tick_row

if TYPE_CHECKING:
    import pytest

DATA = Path(__file__).parent.parent / "data"
CODE = "KRW-BTC"


def _trades(n: int, start_ms: int) -> list[dict[str, Any]]:
    """``n`` REALTIME trades of CODE, 2 s apart, the newest last."""
    base = json.loads((DATA / "trade_default.json").read_text())
    out = []
    for i in range(n):
        ts = start_ms + 2_000 * i
        out.append(
            {
                **base,
                "code": CODE,
                "stream_type": "REALTIME",
                "trade_timestamp": ts,
                "timestamp": ts + 40,
                "sequential_id": ts * 1000 + i,
            }
        )
    return out


def _wire(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _rows(trades: list[dict[str, Any]], older: int) -> list[dict[str, Any]]:
    """REST rows, newest first, plus ``older`` trades before them (so paging ends)."""
    old = _trades(older, trades[0]["trade_timestamp"] - 600_000)
    return [tick_row(t) for t in reversed(old + trades)]


async def _collect(stream: upbitws.Stream, done: Any, timeout: float = 15.0) -> list[Any]:  # noqa: ASYNC109
    seen: list[Any] = []
    async with asyncio.timeout(timeout):
        async for item in stream:
            seen.append(item)
            if done(seen):
                return seen
    raise AssertionError(f"stream ended early: {seen}")


def _trade_ids(items: list[Any]) -> list[int]:
    return [m.sequential_id for m in items if isinstance(m, Trade)]


async def test_a_trade_whose_timestamp_overflows_a_float_does_not_end_the_stream() -> None:
    # Before: OverflowError in the latency sample, outside the decode try; the stream ended
    # with an ExceptionGroup. Now the frame is skipped, counted, and its trade backfilled.
    trades = _trades(5, int(time.time() * 1000) + 60_000)
    bad = {**trades[0], "timestamp": 10**400}  # the first frame: the latency sample is due
    frames = [_wire(bad), *(_wire(t) for t in trades[1:])]
    async with (
        hostile_server(lambda: frames, _rows(trades, 3)) as server,
        upbitws.connect(
            upbitws.trade(CODE), url=server.url, check_markets=False, include_events=True
        ) as stream,
    ):
        ids = [t["sequential_id"] for t in trades]
        seen = await _collect(stream, lambda s: sorted(_trade_ids(s)) == sorted(ids))
        stats = stream.stats()
    assert stats.frame_errors == 1
    assert stats.decode_errors == 0
    assert _trade_ids(seen) == ids  # once each, in order
    recovered = [m for m in seen if isinstance(m, RecoveredTrade)]
    assert [m.sequential_id for m in recovered] == [ids[0]]
    gaps = [e for e in seen if isinstance(e, GapDetected)]
    assert [(g.type, g.code, g.cause) for g in gaps] == [("trade", CODE, "frame")]
    assert [type(e) for e in seen if isinstance(e, GapFilled | GapUnrecoverable)] == [GapFilled]


async def test_schema_drift_loses_nothing() -> None:
    # Before: each frame with a value no enum knew failed to decode and was lost without a
    # gap. Now unknown values decode; a frame that still fails is a gap for its type/code.
    trades = _trades(6, int(time.time() * 1000) + 60_000)
    ticker = json.loads((DATA / "ticker_default.json").read_text())
    frames = [
        _wire(trades[0]),
        _wire({**trades[1], "ask_bid": "MID", "stream_type": "DELTA"}),  # values added later
        _wire({**trades[2], "trade_price": "n/a"}),  # still undecodable: backfilled
        _wire({**ticker, "market_state": "SUSPENDED", "change": "UP"}),
        _wire({**ticker, "acc_trade_price": {"v": 1}}),  # undecodable ticker
        b'{"broken',  # nothing readable
        *(_wire(t) for t in trades[3:]),
    ]
    subs = [upbitws.trade(CODE), upbitws.ticker(CODE)]
    async with (
        hostile_server(lambda: frames, _rows(trades, 2)) as server,
        upbitws.connect(subs, url=server.url, check_markets=False, include_events=True) as stream,
    ):
        ids = [t["sequential_id"] for t in trades]
        seen = await _collect(
            stream,
            lambda s: (
                sorted(_trade_ids(s)) == sorted(ids)
                and any(
                    isinstance(e, GapFilled | GapUnrecoverable) and e.type == "trade" for e in s
                )
            ),
        )
        stats = stream.stats()
    assert _trade_ids(seen) == ids  # nothing lost, nothing twice
    drifted = next(m for m in seen if isinstance(m, Trade) and m.sequential_id == ids[1])
    assert drifted.ask_bid == "MID"
    assert not drifted.ask_bid.known
    assert isinstance(drifted.ask_bid, AskBid)
    assert drifted.stream_type == "DELTA"
    assert isinstance(drifted.stream_type, StreamType)
    tick = next(m for m in seen if isinstance(m, Ticker))
    assert tick.market_state == "SUSPENDED"
    assert isinstance(tick.market_state, MarketState)
    assert tick.change == "UP"
    assert not tick.change.known
    recovered = [m.sequential_id for m in seen if isinstance(m, RecoveredTrade)]
    assert recovered == [ids[2]]
    gaps = {(e.type, e.code, e.cause) for e in seen if isinstance(e, GapDetected)}
    assert gaps == {
        ("trade", CODE, "decode"),
        ("ticker", CODE, "decode"),
        ("unknown", "unknown", "decode"),
    }
    unrecoverable = {(e.type, e.code) for e in seen if isinstance(e, GapUnrecoverable)}
    assert unrecoverable == {("ticker", CODE), ("unknown", "unknown")}
    assert any(isinstance(e, GapFilled) and e.recovered == 1 for e in seen)
    assert stats.decode_errors == 3
    assert stats.gaps_opened == 3


def _tickers_for_other_codes(n: int, every: int) -> Iterator[bytes]:
    """``n`` tickers for codes nobody subscribed, and one of CODE every ``every``."""
    template = _wire(json.loads((DATA / "ticker_default.json").read_text()))
    for i in range(n):
        yield template.replace(b'"KRW-BTC"', f'"KRW-X{i}"'.encode())
        if i % every == 0:
            yield template


async def test_tickers_for_unsubscribed_codes_are_dropped_and_counted() -> None:
    # Before: 100k tickers for unknown codes each took a conflation slot in the buffer and
    # an entry in stream.state (memory without bound). Now each is dropped and counted.
    n, every = 100_000, 1_000
    async with (
        hostile_server(lambda: _tickers_for_other_codes(n, every)) as server,
        upbitws.connect(
            upbitws.ticker(CODE), url=server.url, check_markets=False, queue_size=10_000
        ) as stream,
    ):
        await asyncio.wait_for(server.done.wait(), 30)  # the consumer does not read meanwhile
        await eventually(lambda: stream.stats().frames_received == server.sent, timeout=30)
        stats = stream.stats()
        assert stats.unsubscribed_dropped == n
        assert stats.received == {"ticker": n // every}
        assert stats.queue_depth == 2  # the Connected event and the conflated KRW-BTC ticker
        assert stream.state.codes() == [CODE]
        first = await anext(stream)
        assert isinstance(first, Ticker)
        assert first.code == CODE


async def test_messages_in_flight_after_an_unsubscribe_are_dropped_queued_ones_kept() -> None:
    ticker = _wire(json.loads((DATA / "ticker_default.json").read_text()))
    eth = ticker.replace(b'"KRW-BTC"', b'"KRW-ETH"')

    def frames() -> Iterator[bytes]:
        for _ in range(400):  # the server ignores the unsubscribe: in flight for a while
            yield ticker
            yield eth

    async with (
        hostile_server(frames, pace=0.005) as server,
        upbitws.connect(
            upbitws.ticker(CODE, "KRW-ETH"),
            url=server.url,
            check_markets=False,
            include_events=True,
        ) as stream,
    ):
        await eventually(lambda: stream.stats().received.get("ticker", 0) >= 20)
        await stream.unsubscribe("ticker", "KRW-ETH")
        queued = stream.stats().queue_depth  # Connected, then BTC and ETH conflated
        items = [await anext(stream) for _ in range(queued)]
        assert sorted(m.code for m in items if isinstance(m, Ticker)) == [CODE, "KRW-ETH"]
        await eventually(lambda: stream.stats().unsubscribed_dropped >= 20)
        later = [(await anext(stream)).code for _ in range(5)]
        assert later == [CODE] * 5
        assert stream.state.ticker("KRW-ETH") is not None  # what it had stays readable
        await asyncio.wait_for(server.done.wait(), 30)


async def test_a_flood_of_malformed_frames_logs_a_handful_of_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before: 60,000 malformed frames were 60,000 WARNING lines.
    n = 60_000
    tail = _wire(json.loads((DATA / "ticker_default.json").read_text()))

    def frames() -> Iterator[bytes]:
        for i in range(n):
            yield b"not json " + str(i).encode()
        yield tail

    caplog.set_level(logging.INFO, logger="upbitws")
    async with (
        hostile_server(frames) as server,
        upbitws.connect(
            upbitws.ticker(CODE), url=server.url, check_markets=False, include_events=True
        ) as stream,
    ):
        seen = await _collect(stream, lambda s: isinstance(s[-1], Ticker), timeout=40)
        stats = stream.stats()
    assert stats.decode_errors == n
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert 5 <= len(lines) <= 6, [r.getMessage() for r in lines]
    assert "counting them" in lines[-1].getMessage()
    # announced, not once per frame: one gap in the window, then the ticker
    gaps = [e for e in seen if isinstance(e, GapDetected | GapUnrecoverable)]
    assert [(type(e), e.type, e.code) for e in gaps] == [
        (GapDetected, "unknown", "unknown"),
        (GapUnrecoverable, "unknown", "unknown"),
    ]


async def test_a_server_repeating_error_frames_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Upbit closes after an error frame (protocol §6); a server that does not must not turn
    # each one into a WARNING line.
    error = b'{"error":{"name":"SOMETHING_NEW","message":"again"}}'
    tail = _wire(json.loads((DATA / "ticker_default.json").read_text()))
    caplog.set_level(logging.INFO, logger="upbitws")
    async with (
        hostile_server(lambda: [error] * 1_000 + [tail]) as server,
        upbitws.connect(upbitws.ticker(CODE), url=server.url, check_markets=False) as stream,
    ):
        await asyncio.wait_for(server.done.wait(), 30)
        await eventually(lambda: stream.stats().frames_received == server.sent)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [line for line in lines if "error frame" in line] == [
        "public: server error frame SOMETHING_NEW"
    ]
