"""``upbitws markets`` against the simulator's REST, as a user runs it."""

from __future__ import annotations

import json

from cli._proc import arun, run
from upbitws.simulator import Simulator


async def test_markets_lists_pairs_with_names_and_flags_filtered_by_quote() -> None:
    async with Simulator(markets=["KRW-BTC", "KRW-ETH", "BTC-XRP"]) as sim:
        table = await arun("markets", "--url", sim.ws_url)
        as_json = await arun("markets", "--url", sim.url, "--quote", "krw", "--json")
    assert table.returncode == 0, table.stderr
    for code in ("KRW-BTC", "KRW-ETH", "BTC-XRP"):
        assert code in table.stdout
    assert "Bitcoin" in table.stdout
    assert "3 pairs" in table.stdout
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert [r["market"] for r in rows] == ["KRW-BTC", "KRW-ETH"]
    assert rows[0]["english_name"] == "Bitcoin"
    assert rows[0]["warning"] is False
    assert rows[0]["cautions"] == []


def test_markets_with_rest_down_is_one_line_and_exit_1() -> None:
    result = run("markets", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: GET http://127.0.0.1:9/v1/market/all failed")


def test_markets_rejects_a_malformed_url_in_one_line() -> None:
    result = run("markets", "--url", "api.upbit.com")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'api.upbit.com' is not a ws or wss or http or https URL" in result.stderr
