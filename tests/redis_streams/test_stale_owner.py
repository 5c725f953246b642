"""A collector paused (SIGSTOP) past its lease and resumed (SIGCONT) writes nothing under its
old leases: the fencing token in every append refuses it, whatever it still believes."""

from __future__ import annotations

import asyncio
import re
import signal
from typing import TYPE_CHECKING, Any

from upbitws.redis.keys import GroupKeys
from upbitws.simulator import Simulator

from .collectors import (
    BUSY,
    collectors,
    compare,
    events,
    holders,
    ready_after,
    snapshot_and_catch_up,
    wait_for,
)

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import RedisServer

TTL = 1.5
SHARDS = 8
MARKETS = BUSY[:6]


async def _entries_by(client: Any, keys: GroupKeys, tokens: set[str], after_ms: int) -> int:
    count = 0
    for code in MARKETS:
        for type_ in ("trade", "ticker"):
            for entry_id, fields in await client.xrange(keys.stream(type_, code), f"{after_ms}"):
                assert int(entry_id.split(b"-")[0]) >= after_ms
                count += fields[b"w"].decode() in tokens
    return count


async def test_a_paused_owner_resumed_after_its_lease_writes_nothing(
    redis_server: RedisServer, client: Any, tmp_path: Path
) -> None:
    keys = GroupKeys("stale", SHARDS)
    async with Simulator(seed=3, markets=MARKETS, trade_rate=4.0) as sim:
        args = ["--group", "stale", "--markets", ",".join(MARKETS), "--types", "trade,ticker"]
        args += ["--shards", str(SHARDS), "--lease-ttl", str(TTL)]
        with collectors(tmp_path, redis_server.url, sim.ws_url, ["old", "new"], *args) as ps:

            async def shared() -> set[str] | None:
                owners = await holders(client, keys)
                mine = {v for v in owners.values() if v and v.startswith("old/")}
                others = {v for v in owners.values() if v and v.startswith("new/")}
                ready = await ready_after(client, keys, set(range(SHARDS)), 0)
                return mine if mine and others and len(ready) == SHARDS else None

            old_tokens = await wait_for(shared, 20, "two collectors sharing the shards")
            await asyncio.sleep(0.5)
            stopped_at = ps["old"].signal(signal.SIGSTOP)

            async def taken() -> bool:
                values = set((await holders(client, keys)).values())
                return not values & old_tokens and all(values)

            await wait_for(taken, TTL + 10, "the other collector to take the stale shards")
            resumed_at = ps["old"].signal(signal.SIGCONT)
            # The resumed process finds out, then gets a balanced share again under new tokens.
            await asyncio.sleep(3 * TTL)
            stale = await _entries_by(client, keys, old_tokens, int(resumed_at * 1000))
            during = await _entries_by(client, keys, old_tokens, int(stopped_at * 1000) + 100)
            now_held = {v for v in (await holders(client, keys)).values() if v}
            truth = await snapshot_and_catch_up(client, keys, sim, MARKETS)
            ps["old"].signal(signal.SIGTERM)
            assert ps["old"].process.wait(10) == 0
            log = ps["old"].log()
            other_log = ps["new"].log()
            group_log = await events(client, keys)

    assert stale == 0, f"{stale} entries written with a lost lease after SIGCONT"
    assert during == 0
    assert "lost" in log, log  # it noticed, and stopped collecting those shards
    # What it received while paused was sent with the old token and refused by Redis.
    fenced = int(re.search(r"fenced (\d+)", log).group(1))  # type: ignore[union-attr]
    assert fenced > 0, log
    assert any(v.startswith("old/") for v in now_held)  # alive again, with new tokens
    assert not now_held & old_tokens
    assert stopped_at < resumed_at
    # And the tape is whole: nothing missing or twice through the pause and the hand-backs.
    for tape in await compare(client, keys, truth):
        assert tape.missing == [], (tape, group_log[-40:], log[-1500:], other_log[-1500:])
        assert tape.duplicated == 0, tape
        assert tape.unknown == [], tape
