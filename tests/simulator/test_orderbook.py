"""Orderbook frames: depth suffix, level rules, totals, zero padding (§3.4, §4.4, §12.6)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from ._wire import collect, kind, recv_json, req

if TYPE_CHECKING:
    import aiohttp

    from upbitws.simulator import Simulator


def units(frame: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = frame["orderbook_units"]
    return result


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


async def book(sim: Simulator, http: aiohttp.ClientSession, *objects: dict[str, Any]) -> list[Any]:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(*objects))
        return await collect(ws, 0.35)


@pytest.mark.parametrize(
    ("code", "depth"),
    [("KRW-BTC.1", 1), ("KRW-BTC.5", 5), ("KRW-BTC.15", 15), ("KRW-BTC.30", 30),
     ("KRW-BTC", 30), ("KRW-BTC.7", 30)],
)  # fmt: skip
async def test_depth_suffix(
    sim: Simulator, http: aiohttp.ClientSession, code: str, depth: int
) -> None:
    """``.N`` with N in 1/5/15/30; anything else gives 30 (§3.4); ``code`` has no suffix."""
    frames = await book(sim, http, {"type": "orderbook", "codes": [code]})
    assert frames
    for frame in frames:
        assert frame["code"] == "KRW-BTC"
        assert len(units(frame)) == depth
        assert dec(frame["level"]) == 0


async def test_totals_are_the_sums_of_the_sent_units(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    objs = {"type": "orderbook", "codes": ["KRW-BTC.5", "KRW-ETH", "BTC-ADA.15"]}
    frames = await book(sim, http, objs)
    assert {kind(f)[1] for f in frames} == {"KRW-BTC", "KRW-ETH", "BTC-ADA"}
    for f in frames:
        assert dec(f["total_ask_size"]) == sum(dec(u["ask_size"]) for u in units(f))
        assert dec(f["total_bid_size"]) == sum(dec(u["bid_size"]) for u in units(f))
        asks = [dec(u["ask_price"]) for u in units(f) if u["ask_size"]]
        bids = [dec(u["bid_price"]) for u in units(f) if u["bid_size"]]
        assert asks == sorted(asks)  # asks ascend
        assert bids == sorted(bids, reverse=True)  # bids descend
        assert asks[0] > bids[0]  # never crossed


async def test_thin_book_is_zero_padded(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """A thin book keeps N units; missing levels are zero slots at the end (§4.4)."""
    frames = await book(sim, http, {"type": "orderbook", "codes": ["BTC-ADA"]})
    frame = frames[0]
    assert len(units(frame)) == 30
    zero_asks = [i for i, u in enumerate(units(frame)) if u["ask_price"] == 0]
    zero_bids = [i for i, u in enumerate(units(frame)) if u["bid_price"] == 0]
    assert zero_asks
    assert zero_bids
    assert zero_asks == list(range(zero_asks[0], 30))  # only at the tail
    for u in units(frame):
        assert (u["ask_price"] == 0) == (u["ask_size"] == 0)


async def test_level_groups_krw_prices(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """A supported ``level`` groups prices to its multiples and is echoed in ``level``."""
    frames = await book(sim, http, {"type": "orderbook", "codes": ["KRW-BTC.15"], "level": 100000})
    assert frames
    for f in frames:
        assert dec(f["level"]) == 100000
        assert len(units(f)) == 15
        for u in units(f):
            assert dec(u["ask_price"]) % 100000 == 0
            assert dec(u["bid_price"]) % 100000 == 0


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "orderbook", "codes": ["KRW-BTC"], "level": 12345},  # unsupported on KRW
        {"type": "orderbook", "codes": ["USDT-BTC"], "level": 10},  # level on a non-KRW pair
    ],
    ids=["unsupported level", "non-KRW level"],
)
async def test_level_that_yields_no_data(
    sim: Simulator, http: aiohttp.ClientSession, obj: dict[str, Any]
) -> None:
    """KR host: such a level sends nothing and no error; other objects still stream (§3.4)."""
    frames = await book(sim, http, obj, {"type": "trade", "codes": ["KRW-ETH"]})
    assert frames
    assert {kind(f) for f in frames} == {("trade", "KRW-ETH")}


async def test_two_orderbook_objects_with_different_levels(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """§3.1: several objects of one type in a request are all served."""
    frames = await book(
        sim,
        http,
        {"type": "orderbook", "codes": ["KRW-BTC.5"], "level": 10000},
        {"type": "orderbook", "codes": ["KRW-BTC.5"], "level": 0},
    )
    assert {dec(f["level"]) for f in frames} == {Decimal(10000), Decimal(0)}
    assert [f["stream_type"] for f in frames].count("SNAPSHOT") == 2


async def test_orderbook_consistent_with_last_trade(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A trade's best_* fields are the book's top, the price one of them (§4.3)."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "trade", "codes": ["KRW-XRP"]}))
        frames = await collect(ws, 0.3)
    for t in frames:
        side_price = t["best_ask_price"] if t["ask_bid"] == "BID" else t["best_bid_price"]
        assert dec(t["trade_price"]) == dec(side_price)
        assert dec(t["best_ask_price"]) > dec(t["best_bid_price"])


async def test_snapshot_timestamp_is_last_change(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(
            req({"type": "orderbook", "codes": ["KRW-BTC"], "is_only_snapshot": True})
        )
        frame = await recv_json(ws)
    last = sim.trades("KRW-BTC")[-1]
    assert frame["timestamp"] <= last.trade_timestamp
