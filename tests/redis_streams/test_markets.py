"""`upbitws collect --quote` / `--all-markets` list markets from REST /v1/market/all."""

from __future__ import annotations

import pytest

from upbitws.cli.collect import fetch_markets
from upbitws.exceptions import UpbitWSError
from upbitws.simulator import Simulator


async def test_markets_come_from_rest_and_filter_by_quote() -> None:
    markets = ["KRW-BTC", "KRW-ETH", "BTC-ETH", "USDT-BTC"]
    async with Simulator(seed=1, markets=markets) as sim:
        assert sorted(await fetch_markets(sim.ws_url, None)) == sorted(markets)
        assert sorted(await fetch_markets(sim.ws_url, "krw")) == ["KRW-BTC", "KRW-ETH"]
        port = sim.ws_url.split(":")[2].split("/")[0]
    with pytest.raises(UpbitWSError, match="cannot list markets"):
        await fetch_markets(f"ws://127.0.0.1:{port}/websocket/v1", None)  # closed now
