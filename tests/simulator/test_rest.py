"""Quotation REST: market list, trade ticks paged by cursor, instruments, errors (§10)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._wire import collect, req

if TYPE_CHECKING:
    import aiohttp

    from upbitws.simulator import Simulator

DATA = Path(__file__).parent.parent / "data"


async def get(http: aiohttp.ClientSession, url: str, **params: Any) -> tuple[int, Any]:
    async with http.get(url, params=params) as r:
        return r.status, await r.json()


async def test_market_all(sim: Simulator, http: aiohttp.ClientSession) -> None:
    status, rows = await get(http, f"{sim.url}/v1/market/all")
    assert status == 200
    assert [r["market"] for r in rows] == list(sim.exchange.markets)
    assert set(rows[0]) == {"market", "korean_name", "english_name"}
    assert rows[0] == {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"}


@pytest.mark.parametrize("param", ["is_details", "isDetails"])
async def test_market_all_details(sim: Simulator, http: aiohttp.ClientSession, param: str) -> None:
    status, rows = await get(http, f"{sim.url}/v1/market/all", **{param: "true"})
    assert status == 200
    sample = json.loads((DATA / "rest_market_all_is_details.json").read_text(encoding="utf-8"))
    assert set(rows[0]) == set(sample[0])
    assert set(rows[0]["market_event"]["caution"]) == set(sample[0]["market_event"]["caution"])


async def test_trades_ticks_shape(sim: Simulator, http: aiohttp.ClientSession) -> None:
    await asyncio.sleep(0.2)
    status, rows = await get(http, f"{sim.url}/v1/trades/ticks", market="KRW-BTC")
    assert status == 200
    assert len(rows) == 1  # count defaults to 1
    assert list(rows[0]) == [
        "market", "trade_date_utc", "trade_time_utc", "timestamp", "trade_price",
        "trade_volume", "prev_closing_price", "change_price", "ask_bid", "sequential_id",
    ]  # fmt: skip
    _, many = await get(http, f"{sim.url}/v1/trades/ticks", market="krw-btc", count=1000)
    assert 1 < len(many) <= 500  # lower case accepted; count capped at 500
    ids = [r["sequential_id"] for r in many]
    assert ids == sorted(ids, reverse=True)  # newest first
    history = [t.sequential_id for t in sim.trades("KRW-BTC")][::-1]
    start = history.index(ids[0])
    assert history[start : start + len(ids)] == ids  # a contiguous run of what was published


@pytest.mark.parametrize(
    ("params", "status", "sample"),
    [
        ({"market": "KRW-NOPE"}, 404, "rest_error_404_code_not_found.json"),
        ({"market": "KRW-BTC", "count": "many"}, 400, "rest_error_400_type_mismatch.json"),
        ({"market": "KRW-BTC", "cursor": "x"}, 400, "rest_error_400_type_mismatch.json"),
        ({"market": "KRW-BTC", "days_ago": "9"}, 400, "rest_error_400_type_mismatch.json"),
    ],
)
async def test_trades_ticks_errors(
    sim: Simulator, http: aiohttp.ClientSession, params: dict[str, str], status: int, sample: str
) -> None:
    got_status, body = await get(http, f"{sim.url}/v1/trades/ticks", **params)
    assert got_status == status
    assert body == json.loads((DATA / sample).read_text(encoding="utf-8"))


async def test_cursor_paging_matches_the_websocket(
    make_sim: Any, http: aiohttp.ClientSession
) -> None:
    """REST /v1/trades/ticks paged by cursor returns exactly the ids the WebSocket delivered."""
    sim: Simulator = await make_sim(markets=["KRW-BTC", "KRW-ETH"], trade_rate=4.0)
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "trade", "codes": ["KRW-BTC"]}))
        frames = await collect(ws, 0.5)
    ws_ids = [f["sequential_id"] for f in frames]
    assert len(ws_ids) > 30
    oldest = min(ws_ids)
    rest_ids: list[int] = []
    cursor: int | None = None
    pages = 0
    while not rest_ids or rest_ids[-1] > oldest:
        params: dict[str, Any] = {"market": "KRW-BTC", "count": 25}
        if cursor is not None:
            params["cursor"] = cursor
        status, rows = await get(http, f"{sim.url}/v1/trades/ticks", **params)
        assert status == 200
        assert rows
        rest_ids.extend(r["sequential_id"] for r in rows)
        cursor = rows[-1]["sequential_id"]
        pages += 1
    assert pages >= 3
    window = [i for i in rest_ids if oldest <= i <= max(ws_ids)]
    assert sorted(window) == sorted(ws_ids)
    assert len(set(rest_ids)) == len(rest_ids)


async def test_instruments(sim: Simulator, http: aiohttp.ClientSession) -> None:
    status, rows = await get(
        http, f"{sim.url}/v1/orderbook/instruments", markets="KRW-BTC,BTC-ADA,KRW-NOPE"
    )
    assert status == 200
    assert rows == [
        {
            "market": "KRW-BTC",
            "quote_currency": "KRW",
            "tick_size": "1000",
            "supported_levels": ["0", "10000", "100000", "1000000", "10000000"],
        },
        {
            "market": "BTC-ADA",
            "quote_currency": "BTC",
            "tick_size": "0.00000001",
            "supported_levels": ["0"],
        },
    ]
    assert Decimal(rows[0]["tick_size"]) == 1000
    status, _ = await get(http, f"{sim.url}/v1/orderbook/instruments", markets="KRW-NOPE")
    assert status == 404
