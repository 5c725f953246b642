"""The seeded market: unique sequential_id, the tick grid, busy and quiet markets, tickers,
candles at most once a second, and determinism (§4.2–§4.5, §11)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import aiohttp

from upbitws.simulator import Simulator
from upbitws.simulator.catalog import floor_to, tick_size

from ._wire import collect, kind, req, stream_type
from .conftest import SimFactory


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


async def test_sequential_ids_are_unique(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """§11.2: unique per trade, shaped trade_timestamp * 10000 + k."""
    sim = await make_sim(trade_rate=10.0)
    codes = ["KRW-BTC", "KRW-ETH", "KRW-XRP"]
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "trade", "codes": codes}))
        frames = await collect(ws, 0.5)
    assert len(frames) > 200
    ids = [f["sequential_id"] for f in frames]
    assert len(set(ids)) == len(ids)
    for f in frames:
        assert f["sequential_id"] // 10000 >= f["trade_timestamp"]
        assert f["sequential_id"] // 10000 - f["trade_timestamp"] < 1000


async def test_prices_on_the_tick_grid(sim: Simulator) -> None:
    await asyncio.sleep(0.3)
    for code in sim.exchange.markets:
        for t in sim.trades(code):
            price = t.trade_price
            assert price == floor_to(price, tick_size(code, price)), (code, price)
            assert price > 0
            assert t.trade_volume > 0


async def test_busy_and_quiet_markets(make_sim: SimFactory) -> None:
    sim = await make_sim(markets=["KRW-BTC", "KRW-ETH", "KRW-XRP", "BTC-ADA", "KRW-AAVE"])
    await asyncio.sleep(1.0)
    counts = {code: len(sim.trades(code)) for code in sim.exchange.markets}
    for busy in ("KRW-BTC", "KRW-ETH", "KRW-XRP"):
        assert counts[busy] >= 8, counts  # tens of trades a second
    for quiet in ("BTC-ADA", "KRW-AAVE"):
        assert counts[quiet] <= 4, counts  # the first trade plus a few at most


async def test_trade_rate_multiplier(make_sim: SimFactory) -> None:
    slow = await make_sim(markets=["KRW-BTC"], trade_rate=0.5)
    fast = await make_sim(markets=["KRW-BTC"], trade_rate=10.0)
    await asyncio.sleep(0.5)
    assert len(fast.trades("KRW-BTC")) > 5 * len(slow.trades("KRW-BTC"))


async def test_ticker_follows_the_tape(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """Each REALTIME ticker is pushed on a trade and carries it; change vs prev close (§4.2)."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(
            req({"type": "ticker", "codes": ["KRW-ETH"]}, {"type": "trade", "codes": ["KRW-ETH"]})
        )
        frames = await collect(ws, 0.4)
    realtime = [i for i, f in enumerate(frames) if f["type"] == "ticker" and i > 0]
    assert realtime
    for i in realtime:
        tk, trade = frames[i], frames[i - 1]
        # Pushed on the trade, right after the trade frame it carries.
        assert trade["type"] == "trade"
        assert trade["trade_timestamp"] == tk["trade_timestamp"]
        assert dec(trade["trade_price"]) == dec(tk["trade_price"])
        assert trade["ask_bid"] == tk["ask_bid"]
        price, prev = dec(tk["trade_price"]), dec(tk["prev_closing_price"])
        assert dec(tk["signed_change_price"]) == price - prev
        assert tk["change"] == ("RISE" if price > prev else "FALL" if price < prev else "EVEN")
        assert dec(tk["low_price"]) <= price <= dec(tk["high_price"])
        assert dec(tk["acc_trade_volume"]) <= dec(tk["acc_trade_volume_24h"])
        assert dec(tk["lowest_52_week_price"]) <= price <= dec(tk["highest_52_week_price"])


async def test_candles_at_most_once_a_second(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    """§4.5: ≤1 REALTIME frame per second per (unit, code); the same candle time resent."""
    sim = await make_sim(markets=["KRW-BTC", "KRW-XRP"], trade_rate=5.0)
    sub = {"type": "candle.1m", "codes": ["KRW-BTC", "KRW-XRP"]}
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req(sub, {"type": "candle.1s", "codes": ["KRW-BTC"]}))
        frames = await collect(ws, 2.3)
    realtime = [f for f in frames if stream_type(f) == "REALTIME"]
    per_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in realtime:
        per_key[kind(f)].append(f)
    assert set(per_key) == {
        ("candle.1m", "KRW-BTC"),
        ("candle.1m", "KRW-XRP"),
        ("candle.1s", "KRW-BTC"),
    }
    for frames_of_key in per_key.values():
        assert 2 <= len(frames_of_key) <= 3  # busy markets, 2.3 s: a push a second at most
    minute = [f for f in frames if kind(f) == ("candle.1m", "KRW-BTC")]
    starts = Counter(f["candle_date_time_utc"] for f in minute)
    # The same candle time is resent as it updates (unless a minute boundary fell inside).
    assert max(starts.values()) >= 2 or len(starts) == 2
    for f in frames:
        utc, kst = f["candle_date_time_utc"], f["candle_date_time_kst"]
        assert int(kst[11:13]) == (int(utc[11:13]) + 9) % 24
        assert dec(f["low_price"]) <= dec(f["trade_price"]) <= dec(f["high_price"])


async def test_determinism_across_runs(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    """Same seed, same tape: prices, volumes, sides and books; timestamps are wall clock."""
    first = await make_sim(seed=7, markets=["KRW-BTC", "KRW-ETH"])
    second = await make_sim(seed=7, markets=["KRW-ETH", "KRW-BTC", "KRW-XRP"])
    other = await make_sim(seed=8, markets=["KRW-BTC"])
    received: list[list[Any]] = []
    for sim in (first, second):
        async with http.ws_connect(sim.ws_url) as ws:
            await ws.send_str(req({"type": "trade", "codes": ["KRW-BTC"]}))
            received.append(await collect(ws, 0.4))

    def tape(sim: Simulator) -> list[tuple[Any, ...]]:
        return [
            (t.trade_price, t.trade_volume, t.ask_bid, t.best_ask_size)
            for t in sim.trades("KRW-BTC")
        ]

    a, b = tape(first), tape(second)
    n = min(len(a), len(b))
    assert n >= 10
    assert a[:n] == b[:n]
    assert tape(other)[:n] != a[:n]
    # What each WebSocket delivered is a contiguous run of that same tape.
    for frames, full in zip(received, (a, b), strict=True):
        got = [
            (dec(f["trade_price"]), dec(f["trade_volume"]), f["ask_bid"], dec(f["best_ask_size"]))
            for f in frames
        ]
        start = full.index(got[0])
        assert full[start : start + len(got)] == got
