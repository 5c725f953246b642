"""One number format and one clock for every human view."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import pytest

import upbitws
from upbitws.cli._render import KSTFormatter, describe, num, pct
from upbitws.client.stats import format_kst
from upbitws.exceptions import ConnectionLostError
from upbitws.models import AskBid, AssetBalance, MyAsset, MyOrder, OrderState, OrderType, StreamType
from upbitws.protocol.latency import LatencySnapshot

# 2026-11-22 04:15:56.250 UTC = 13:15:56.250 KST
AT = datetime.fromisoformat("2026-11-22T04:15:56.250+00:00").timestamp()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1.16539E8"), "116,539,000"),
        (Decimal("0E-8"), "0"),
        (Decimal("0.00077720"), "0.00077720"),
        (Decimal("1386929.37231066771348207123"), "1,386,929.37231066771348207123"),
        (Decimal("140030000.0"), "140,030,000"),
        (140008000, "140,008,000"),
        (1.5e-07, "0.00000015"),
        (0.1, "0.1"),
        (Decimal("-3.5"), "-3.5"),
        (None, "-"),
    ],
)
def test_num_has_separators_exact_digits_and_no_exponent(value: object, shown: str) -> None:
    assert num(value) == shown  # type: ignore[arg-type]


def test_pct() -> None:
    assert pct(Decimal("0.0123")) == "+1.23%"
    assert pct(-0.004567) == "-0.46%"


def _order(kind: str, price: str | None, volume: str | None) -> MyOrder[Decimal]:
    return MyOrder(
        code="KRW-BTC",
        uuid="u-1",
        ask_bid=AskBid.BID if kind != "market" else AskBid.ASK,
        order_type=OrderType(kind),
        state=OrderState.WAIT,
        price=None if price is None else Decimal(price),
        volume=None if volume is None else Decimal(volume),
        executed_volume=Decimal("0E-8"),
        timestamp=int(AT * 1000),
        stream_type=StreamType.REALTIME,
    )


def test_my_order_lines_read_as_orders() -> None:
    by_total = describe(_order("price", "1000000", None))
    assert "market buy for 1,000,000 KRW" in by_total
    assert "None" not in by_total
    assert "price price" not in by_total
    assert "0E-8" not in by_total
    limit = describe(_order("limit", "140100000", "0.001"))
    assert "BID limit 0.001 @ 140,100,000 (executed 0)" in limit
    sell = describe(_order("market", None, "0.5"))
    assert "ASK market sell 0.5" in sell
    assert by_total.startswith("13:15:56.250 ")


def test_my_asset_line_has_no_exponent_and_shows_locked_only_when_set() -> None:
    asset = MyAsset(
        asset_uuid="a",
        assets=(
            AssetBalance(currency="KRW", balance=Decimal("1.0E+8"), locked=Decimal("0E-8")),
            AssetBalance(currency="BTC", balance=Decimal("1.5"), locked=Decimal("0.25")),
        ),
        asset_timestamp=int(AT * 1000),
        timestamp=int(AT * 1000),
        stream_type=StreamType.REALTIME,
    )
    line = describe(asset)
    assert "KRW 100,000,000," in line
    assert "BTC 1.5 (locked 0.25)" in line
    assert "E-8" not in line
    assert "E+8" not in line


def test_events_read_as_sentences_in_kst() -> None:
    cause = ConnectionLostError("connection closed: 1006")
    assert str(upbitws.Reconnected("public", "ws://x", AT, 0.38973331451416016)) == (
        "13:15:56.250+09:00 reconnected public after 0.39 s"
    )
    assert str(upbitws.Disconnected("public", cause, AT)) == (
        "13:15:56.250+09:00 disconnected public: connection closed: 1006"
    )
    assert str(upbitws.Connected("public", "ws://h/websocket/v1", AT, 0)) == (
        "13:15:56.250+09:00 connected public to ws://h/websocket/v1"
    )
    assert str(upbitws.Reconnecting("public", 2, 1.5, cause)) == (
        "reconnecting public in 1.50 s (attempt 2)"
    )
    assert str(upbitws.GapDetected("trade", "KRW-BTC", "reconnect", int(AT * 1000))) == (
        "gap in trade KRW-BTC (reconnect) since 13:15:56.250+09:00"
    )
    assert str(upbitws.GapFilled("trade", "KRW-BTC", 1052)) == (
        "gap in trade KRW-BTC filled: 1,052 recovered from REST"
    )
    assert repr(upbitws.GapFilled("trade", "KRW-BTC", 1)).startswith("GapFilled(")  # kept


def test_stats_and_logs_use_kst_with_the_offset() -> None:
    assert format_kst(AT) == "2026-11-22 13:15:56+09:00 KST"
    record = logging.LogRecord("upbitws", logging.WARNING, __file__, 1, "x", None, None)
    record.created, record.msecs = AT, 250.0
    assert KSTFormatter("%(asctime)s").format(record) == "2026-11-22 13:15:56.250+09:00"


def test_latency_says_when_clocks_disagree() -> None:
    fine = LatencySnapshot(count=100, p50=3.1, p99=8.0, max=12.4, negative=2)
    assert fine.describe() == "p50 3.1 ms, p99 8.0 ms, max 12.4 ms"
    skewed = LatencySnapshot(count=95, p50=0.001, p99=80.0, max=90.0, negative=68)
    assert skewed.clocks_disagree
    assert "clocks disagree (68 of 95 samples negative)" in skewed.describe()
    assert "p99" not in skewed.describe()
    assert LatencySnapshot(count=0, p50=None, p99=None, max=None).describe() == "no samples yet"
