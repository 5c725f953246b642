"""Acceptance: three `upbitws collect` processes of one group, one SIGKILLed, one SIGTERMed;
every trade of every market ends up in Redis exactly once.

The simulator runs in this process (its REST history is the truth); the collectors are real
subprocesses against a real redis-server.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Any

from upbitws.redis.keys import GroupKeys
from upbitws.simulator import Simulator

from .collectors import (
    BUSY,
    collectors,
    compare,
    holders,
    ready_after,
    snapshot_and_catch_up,
    wait_for,
)

if TYPE_CHECKING:
    from pathlib import Path

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
    lengths = [int(await client.xlen(keys.stream("trade", c))) for c in BUSY]
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

    ready: dict[int, float] = await wait_for(done, TTL + 10, f"the takeover of {victim}'s shards")
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
            truth = await snapshot_and_catch_up(client, keys, sim, BUSY)
            ps["c3"].signal(signal.SIGTERM)
            assert ps["c3"].process.wait(10) == 0, ps["c3"].log()
            stats = sim.stats()

    tapes = await compare(client, keys, truth)
    for tape in tapes:
        assert tape.missing == [], tape
        assert tape.duplicated == 0, tape
        assert tape.unknown == [], tape
    assert sum(t.expected for t in tapes) > 500  # busy markets, a real run
    assert sum(t.recovered for t in tapes) > 0  # the takeovers were filled from REST
    assert kill_takeover <= TTL + 3, kill_takeover
    assert term_takeover <= TTL + 3, term_takeover
    assert stats["rate_limited"] == 0  # no upgrade answered 429
    assert stats["rejected_upgrades"] == 0
