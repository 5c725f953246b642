"""The connect budget shared through Redis: processes acquiring together never exceed 5
upgrades in any sliding second."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conftest import RedisServer

ACQUIRER = """
import asyncio, sys, time
import redis.asyncio as aioredis
from upbitws.redis import RedisConnectBudget

async def main() -> None:
    client = aioredis.Redis.from_url(sys.argv[1])
    budget = RedisConnectBudget(client, "g")
    start = float(sys.argv[2])
    await asyncio.sleep(max(0.0, start - time.time()))  # every process starts at once
    for _ in range(5):
        await budget.acquire("127.0.0.1")
        print(time.time(), flush=True)
    await client.aclose()

asyncio.run(main())
"""


def test_concurrent_processes_share_five_upgrades_per_second(redis_server: RedisServer) -> None:
    start = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ACQUIRER, redis_server.url, str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    times: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        times += [float(line) for line in out.split()]
    times.sort()
    assert len(times) == 15
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert busiest == 5  # the budget was used to the full, never beyond
    assert times[-1] - times[0] >= 2.0  # 15 upgrades need three windows
