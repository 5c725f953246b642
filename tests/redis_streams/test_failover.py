"""Acceptance: three `upbitws collect` processes of one group, one SIGKILLed, one SIGTERMed;
every trade of every market ends up in Redis exactly once.

The simulator runs in this process (its REST history is the truth); the collectors are real
subprocesses against a real redis-server.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from upbitws.redis.keys import GroupKeys
from upbitws.simulator import Simulator

from .collectors import (
    BUSY,
    collectors,
    holders,
    ready_after,
    stored_trades,
    wait_for,
)
from .conftest import RedisServer

TTL = 2.0
SHARDS = 8


async def _all_ready(client: Any, keys: GroupKeys) -> bool:
    owners = await holders(client, keys)
    if any(v is None for v in owners.values()):
        return False
    if len({v.split("/")[0] for v in owners.values() if v}) < 3:
        return False  # not balanced yet
    ready = await ready_after(client, keys, set(range(SHARDS)), 0.0)
    if len(ready) < SHARDS:
        return False
    lengths = [await client.xlen(keys.stream("trade", c)) for c in BUSY]
    return min(lengths) > 0


async def _takeover(client: Any, keys: GroupKeys, victim: str, at: float) -> float:
    """Seconds from ``at`` until every shard ``victim`` held was ready elsewhere."""
    shards = {s for s, v in (await holders(client, keys)).items() if v and v.startswith(victim)}
    assert shards, f"{victim} held no shard"

    async def done() -> dict[int, float] | None:
        ready = await ready_after(client, keys, shards, at)
        owners = await holders(client, keys)
        if len(ready) == len(shards) and all(
            owners[s] and not str(owners[s]).startswith(victim) for s in shards
        ):
            return ready
        return None

    ready = await wait_for(done, TTL + 10, f"the takeover of {victim}'s shards")
    return max(ready.values()) - at


async def test_three_collectors_one_killed_one_stopped_every_trade_exactly_once(
    redis_server: RedisServer, client: Any, tmp_path: Path
) -> None:
    keys = GroupKeys("acceptance", SHARDS)
    async with Simulator(seed=14, markets=BUSY, trade_rate=4.0) as sim:
        args = ["--group", "acceptance", "--markets", ",".join(BUSY), "--types", "trade,ticker"]
        args += ["--shards", str(SHARDS), "--lease-ttl", str(TTL)]
        with collectors(tmp_path, redis_server.url, sim.ws_url, ["c1", "c2", "c3"], *args) as ps:
            await wait_for(lambda: _all_ready(client, keys), 20, "three collectors sharing")
            await asyncio.sleep(1.5)

            killed_at = ps["c1"].signal(signal.SIGKILL)
            kill_takeover = await _takeover(client, keys, "c1", killed_at)
            await asyncio.sleep(1.0)

            stopped_at = ps["c2"].signal(signal.SIGTERM)
            term_takeover = await _takeover(client, keys, "c2", stopped_at)
            assert ps["c2"].process.wait(10) == 0, ps["c2"].log()
            await asyncio.sleep(1.0)

            # The run window ends at the newest trade the simulator published by now.
            truth = {code: sim.trades(code) for code in BUSY}

            async def caught_up() -> bool:
                for code in BUSY:
                    stored = {int(f[b"sid"]) for f in await stored_trades(client, keys, code)}
                    if truth[code][-1].sequential_id not in stored:
                        return False
                return True

            await wait_for(caught_up, 10, "the collectors to catch up")
            ps["c3"].signal(signal.SIGTERM)
            assert ps["c3"].process.wait(10) == 0, ps["c3"].log()
            stats = sim.stats()

    report = []
    recovered = 0
    for code in BUSY:
        fields = await stored_trades(client, keys, code)
        ids = [int(f[b"sid"]) for f in fields]
        recovered += sum(f.get(b"src") == b"rest" for f in fields)
        first_ts = int(fields[0][b"ts"])
        end_ts = truth[code][-1].trade_timestamp
        # Trades of the first stored millisecond may predate the first subscription.
        expected = {t.sequential_id for t in truth[code] if first_ts < t.trade_timestamp <= end_ts}
        window = {
            sid for sid, f in zip(ids, fields, strict=True) if first_ts < int(f[b"ts"]) <= end_ts
        }
        missing = expected - set(ids)
        report.append((code, len(expected), len(missing), len(ids) - len(set(ids))))
        assert not missing, (code, sorted(missing)[:10])
        assert len(ids) == len(set(ids)), f"{code}: duplicated trades"
        assert window == expected  # and nothing in the window the simulator never traded
    print(
        report,
        f"recovered {recovered}, takeover kill {kill_takeover:.2f}s term {term_takeover:.2f}s",
    )
    assert sum(n for _c, n, _m, _d in report) > 500  # busy markets, a real run
    assert recovered > 0  # the takeovers were filled from REST
    assert kill_takeover <= TTL + 3, kill_takeover
    assert term_takeover <= TTL + 3, term_takeover
    assert stats["rate_limited"] == 0  # no upgrade answered 429
    assert stats["rejected_upgrades"] == 0
