"""The simulated account: orders through the control route, myOrder and myAsset frames
through their states, fills as public trades (protocol §4.6, §4.7)."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from upbitws.protocol.codec import decode
from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, OrderError, Simulator
from upbitws.simulator.catalog import floor_to

from ._wire import collect, recv_json, req, token
from .conftest import SimFactory

MYORDER_KEYS = set(
    json.loads(
        (Path(__file__).parent.parent / "data" / "myorder_default.json").read_text(encoding="utf-8")
    )
)


async def private(http: aiohttp.ClientSession, sim: Simulator) -> aiohttp.ClientWebSocketResponse:
    headers = {"Authorization": f"Bearer {token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)}"}
    ws = await http.ws_connect(sim.private_ws_url, headers=headers)
    await ws.send_str(req({"type": "myOrder"}, {"type": "myAsset"}))
    await asyncio.sleep(0.05)  # no snapshot for private types: let the request land
    return ws


async def post_order(http: aiohttp.ClientSession, sim: Simulator, **body: Any) -> tuple[int, Any]:
    async with http.post(f"{sim.url}/_sim/orders", json=body) as r:
        return r.status, await r.json()


def states(frames: list[dict[str, Any]], uuid: str) -> list[str]:
    return [f["state"] for f in frames if f["type"] == "myOrder" and f["uuid"] == uuid]


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, uuid: str, final: str, wait: float = 3.0
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while final not in states(out, uuid):
        assert time.monotonic() < deadline, states(out, uuid)
        out.append(await recv_json(ws, deadline - time.monotonic()))
    while out[-1]["type"] != "myAsset":  # the balance update follows the order's frame
        out.append(await recv_json(ws, deadline - time.monotonic()))
    return out


async def test_marketable_limit_bid(sim: Simulator, http: aiohttp.ClientSession) -> None:
    book = sim.exchange.markets["KRW-BTC"]
    price = floor_to(book.ask * Decimal("1.01"), Decimal(1000))
    async with await private(http, sim) as ws:
        status, body = await post_order(
            http,
            sim,
            market="KRW-BTC",
            side="bid",
            ord_type="limit",
            price=str(price),
            volume="0.001",
        )
        assert status == 201
        uuid = body["uuid"]
        frames = await frames_until(ws, uuid, "done")
    seen = states(frames, uuid)
    assert seen[0] == "wait"
    assert seen[-1] == "done"
    assert "trade" in seen
    orders = [f for f in frames if f["type"] == "myOrder"]
    for f in orders:
        assert set(f) == MYORDER_KEYS
        decode(json.dumps(f).encode())  # decodes with upbitws's own models
    fills = [f for f in orders if f["state"] == "trade"]
    assert sum(Decimal(str(f["volume"])) for f in fills) == Decimal("0.001")
    assert all(f["is_maker"] is False and f["trade_uuid"] for f in fills)
    assets = [f for f in frames if f["type"] == "myAsset"]
    assert assets
    last = {a["currency"]: a for f in assets for a in f["assets"]}
    assert Decimal(str(last["BTC"]["balance"])) == Decimal("1.001")
    assert Decimal(str(last["KRW"]["locked"])) == 0
    spent = Decimal(100_000_000) - Decimal(str(last["KRW"]["balance"]))
    funds = sum(Decimal(str(f["price"])) * Decimal(str(f["volume"])) for f in fills)
    assert spent == funds + sum(Decimal(str(f["trade_fee"])) for f in fills)


async def test_resting_order_then_cancel(sim: Simulator, http: aiohttp.ClientSession) -> None:
    far = floor_to(sim.exchange.markets["KRW-BTC"].ask * 2, Decimal(1000))
    async with await private(http, sim) as ws:
        uuid = sim.place_order("KRW-BTC", "ask", "limit", price=far, volume="0.5")
        first = await frames_until(ws, uuid, "wait")
        async with http.delete(f"{sim.url}/_sim/orders/{uuid}") as r:
            assert r.status == 200
        rest = await frames_until(ws, uuid, "cancel")
    frames = first + rest
    assert states(frames, uuid) == ["wait", "cancel"]
    btc = [a for f in frames if f["type"] == "myAsset" for a in f["assets"]]
    assert [a["currency"] for a in btc] == ["BTC", "BTC"]
    assert Decimal(str(btc[0]["locked"])) == Decimal("0.5")  # locked by the order
    assert Decimal(str(btc[0]["balance"])) == Decimal("0.5")
    assert Decimal(str(btc[-1]["locked"])) == 0  # released by the cancel
    assert Decimal(str(btc[-1]["balance"])) == 1
    with pytest.raises(OrderError):
        sim.cancel_order(uuid)  # already cancelled


async def test_market_orders_are_public_trades(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """Fills take liquidity: they are trades on the public stream and in REST ticks."""
    async with await private(http, sim) as mine, http.ws_connect(sim.ws_url) as public:
        await public.send_str(
            req({"type": "trade", "codes": ["KRW-ETH"], "is_only_realtime": True})
        )
        await asyncio.sleep(0.05)
        buy = sim.place_order("KRW-ETH", "bid", "price", price="1000000")
        sell = sim.place_order("KRW-ETH", "ask", "market", volume="0.05", identifier="cli-1")
        frames = await frames_until(mine, sell, "done")
        trades = await collect(public, 0.2)
    for uuid in (buy, sell):
        assert states(frames, uuid)[-1] == "done"
    fills = [f for f in frames if f["type"] == "myOrder" and f["state"] == "trade"]
    sold = [f for f in fills if f["uuid"] == sell]
    assert sum(Decimal(str(f["volume"])) for f in sold) == Decimal("0.05")
    assert {f["identifier"] for f in sold} == {"cli-1"}
    public_fills = {
        (Decimal(str(t["trade_price"])), Decimal(str(t["trade_volume"])), t["ask_bid"])
        for t in trades
    }
    for f in fills:
        side = "BID" if f["uuid"] == buy else "ASK"
        assert (Decimal(str(f["price"])), Decimal(str(f["volume"])), side) in public_fills
    async with http.get(
        f"{sim.url}/v1/trades/ticks", params={"market": "KRW-ETH", "count": 500}
    ) as r:
        rest_ids = {row["sequential_id"] for row in await r.json()}
    assert {t["sequential_id"] for t in trades} <= rest_ids


async def test_resting_bid_fills_as_maker(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(markets=["KRW-XRP"], trade_rate=10.0)
    async with await private(http, sim) as ws:
        bid = sim.exchange.markets["KRW-XRP"].bid  # the best bid now: not marketable
        uuid = sim.place_order("KRW-XRP", "bid", "limit", price=bid, volume="1")
        frames = await frames_until(ws, uuid, "done", wait=5.0)
    makers = [f for f in frames if f.get("uuid") == uuid and f["state"] == "trade"]
    assert makers
    assert all(f["is_maker"] is True and Decimal(str(f["price"])) == bid for f in makers)


def _order(market: str, side: str, ord_type: str, **extra: str) -> dict[str, str]:
    return {"market": market, "side": side, "ord_type": ord_type, **extra}


REFUSED = {
    "no KRW": (_order("KRW-BTC", "bid", "limit", price="100000000", volume="1000"), 400,
               "insufficient_funds_bid"),
    "no BTC": (_order("KRW-BTC", "ask", "limit", price="100000000", volume="2"), 400,
               "insufficient_funds_ask"),
    "off the tick grid": (_order("KRW-BTC", "bid", "limit", price="100000001", volume="0.001"),
                          400, "invalid_price_bid"),
    "unknown market": (_order("KRW-NOPE", "bid", "price", price="10000"), 404,
                       "market_does_not_exist"),
    "price order must bid": (_order("KRW-BTC", "ask", "price", price="10000"), 400,
                             "invalid_parameter"),
    "bad side": (_order("KRW-BTC", "up", "limit"), 400, "invalid_side"),
}  # fmt: skip


@pytest.mark.parametrize(("body", "status", "name"), list(REFUSED.values()), ids=list(REFUSED))
async def test_refused_orders(
    sim: Simulator, http: aiohttp.ClientSession, body: dict[str, Any], status: int, name: str
) -> None:
    got, reply = await post_order(http, sim, **body)
    assert got == status
    assert reply["error"]["name"] == name
    async with http.delete(f"{sim.url}/_sim/orders/nope") as r:
        assert r.status == 404


async def test_account_route(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{sim.url}/_sim/account") as r:
        body = await r.json()
    assert body["balances"]["KRW"] == {"balance": "100000000", "locked": "0"}
