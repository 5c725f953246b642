"""Parquet export: exact decimals read back with pyarrow, and the README's DuckDB query."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import upbitws
from upbitws import GapFilled
from upbitws.models import RecoveredTrade, Ticker, Trade
from upbitws.recording import Recorder, RecordingReader, replay
from upbitws.recording.export import ExportError, to_parquet
from upbitws.simulator import Simulator

CODES = ("KRW-BTC", "KRW-ETH")

ROOT = Path(__file__).resolve().parents[2]


def _queries(out: Path) -> list[str]:
    """The DuckDB queries the README and docs/recording.md show, pointed at ``out``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inline = re.search(r"`(SELECT code, time_bucket.*?)`", readme)
    assert inline is not None, "the README shows no VWAP query"
    docs = (ROOT / "docs" / "recording.md").read_text(encoding="utf-8")
    block = re.search(r"```sql\n(.*?)```", docs, re.S)
    assert block is not None, "docs/recording.md shows no SQL block"
    return [q.replace("pq/", f"{out}/") for q in (inline.group(1), block.group(1))]


async def _record(out: Path, seconds: float = 2.5) -> None:
    subs = [
        upbitws.trade(*CODES),
        upbitws.ticker(*CODES),
        upbitws.orderbook(*CODES),
        upbitws.candle("1m", *CODES),
    ]
    async with Simulator(seed=3, markets=list(CODES), trade_rate=4.0) as sim:
        # a short pong timeout: the blackhole below is noticed in about a second
        stream = upbitws.connect(subs, url=sim.ws_url, ping_interval=0.2, pong_timeout=0.6)
        filled: set[str] = set()
        recovered = 0

        def gaps(event: Any) -> None:
            nonlocal recovered
            if isinstance(event, GapFilled):
                filled.add(event.code)
                recovered += event.recovered

        async with Recorder(stream, out) as recorder:
            recorder.on_event(gaps)
            try:
                async with asyncio.timeout(seconds):
                    async for _ in recorder:
                        pass
            except TimeoutError:
                pass
            # a blackhole of ~1 s while trades go on: they come back from REST
            sim.apply_fault("half_open")
            async with asyncio.timeout(20):
                async for _ in recorder:
                    if filled == set(CODES):
                        break
        assert recovered > 0


def _frames(path: Path, cls: type) -> list[Any]:
    found = []
    for kind, value in RecordingReader(path):
        if kind == "entries":
            for entry in value:
                if entry[0] == 0:
                    found += [m for m in upbitws.decode(entry[4]) if isinstance(m, cls)]
    return found


def _rows(out: Path, name: str) -> list[dict[str, Any]]:
    table = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
    # ns timestamps have no datetime: read them as ints
    received = table.column("received_at").cast(pa.int64())
    table = table.drop_columns(["received_at"]).append_column("received_ns", received)
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


async def test_every_trade_and_ticker_value_reads_back_exactly(tmp_path: Path) -> None:
    rec, out = tmp_path / "rec", tmp_path / "parquet"
    await _record(rec)
    summary = await asyncio.to_thread(to_parquet, rec, out)
    assert {"trade", "ticker", "orderbook", "candle.1m"} <= set(summary.rows)

    trades = [m for m in replay(rec, include_events=False) if isinstance(m, Trade)]
    rows = _rows(out, "trade")
    assert summary.rows["trade"] == len(trades) == len(rows)
    by_id = {(r["code"], r["sequential_id"]): r for r in rows}
    for trade in trades:
        row = by_id[(trade.code, trade.sequential_id)]
        for field in ("trade_price", "trade_volume", "prev_closing_price", "change_price"):
            assert row[field] == getattr(trade, field), field
            assert isinstance(row[field], Decimal)
        assert row["recovered"] is isinstance(trade, RecoveredTrade)
        assert row["exchange_time"].timestamp() * 1000 == trade.trade_timestamp
        assert row["exchange_time"].utcoffset().total_seconds() == 0
        assert row["date"] == row["exchange_time"].strftime("%Y-%m-%d")
        assert abs(row["received_ns"] / 1e6 - trade.timestamp) < 60_000
    assert any(r["recovered"] for r in rows)

    tickers = _frames(rec, Ticker)
    ticker_rows = _rows(out, "ticker")
    assert len(ticker_rows) == len(tickers)
    decimals = [f for f in Ticker.__struct_fields__ if isinstance(getattr(tickers[0], f), Decimal)]
    assert len(decimals) > 10
    keyed = {
        (r["code"], r["timestamp"], r["trade_price"], r["acc_trade_price"]) for r in ticker_rows
    }
    for ticker in tickers:
        assert (ticker.code, ticker.timestamp, ticker.trade_price, ticker.acc_trade_price) in keyed
    exact = defaultdict(list)
    for r in ticker_rows:
        exact[(r["code"], r["timestamp"])].append({f: r[f] for f in decimals})
    for ticker in tickers:
        assert {f: getattr(ticker, f) for f in decimals} in exact[(ticker.code, ticker.timestamp)]

    book = _rows(out, "orderbook")[0]
    unit = book["orderbook_units"][0]
    assert set(unit) == {"ask_price", "bid_price", "ask_size", "bid_size"}
    schema = ds.dataset(out / "orderbook", format="parquet", partitioning="hive").schema
    assert schema.field("orderbook_units").type == pa.list_(
        pa.struct(
            [(n, pa.decimal128(38, 20)) for n in ("ask_price", "bid_price", "ask_size", "bid_size")]
        )
    )
    assert schema.field("received_at").type == pa.timestamp("ns", tz="UTC")


async def test_the_duckdb_vwap_query_matches_python(tmp_path: Path) -> None:
    import duckdb

    rec, out = tmp_path / "rec", tmp_path / "parquet"
    await _record(rec, seconds=1.5)
    await asyncio.to_thread(to_parquet, rec, out)

    readme_sql, docs_sql = _queries(out)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    shown = con.sql(readme_sql).fetchall()
    con.execute(docs_sql.split(";", 1)[0])  # the SET that starts the docs' block
    got = con.sql(docs_sql.split(";", 1)[1].strip().rstrip(";")).fetchall()
    con.close()
    assert [(c, m, n) for c, m, n, _ in shown] == [(c, m, n) for c, m, n, _, _ in got]
    assert [v for *_, v in shown] == pytest.approx([v for *_, v in got], rel=1e-12)

    buckets: dict[tuple[str, int], list[Trade[Decimal]]] = defaultdict(list)
    for m in replay(rec, include_events=False):
        if isinstance(m, Trade):
            buckets[(m.code, m.trade_timestamp // 60_000)].append(m)
    assert len(got) == len(buckets)
    for (code, minute, count, volume, vwap), key in zip(got, sorted(buckets), strict=True):
        trades = buckets[key]
        assert (code, int(minute.timestamp()) // 60) == key
        assert count == len(trades)
        assert volume == sum(t.trade_volume for t in trades)
        expected = sum(t.trade_price * t.trade_volume for t in trades) / volume
        assert vwap == pytest.approx(float(expected), rel=1e-12)


def test_a_value_that_does_not_fit_is_an_error_never_rounded(tmp_path: Path) -> None:
    from upbitws.recording.export import _Dataset

    frame = (Path(__file__).resolve().parents[1] / "data" / "trade_default.json").read_bytes()
    trade = upbitws.decode(frame)[0]
    import msgspec

    too_fine = msgspec.structs.replace(trade, trade_volume=Decimal("0.123456789012345678901"))
    dataset = _Dataset(pa, "trade", Trade)
    dataset.add(too_fine, 0)
    with pytest.raises(ExportError, match=r"trade_volume = 0\.123456789012345678901 does not fit"):
        dataset.seal()
    too_big = msgspec.structs.replace(trade, trade_price=Decimal("1234567890123456789"))
    dataset = _Dataset(pa, "trade", Trade)
    dataset.add(too_big, 0)
    with pytest.raises(ExportError, match="trade_price = 1234567890123456789 does not fit"):
        dataset.seal()
