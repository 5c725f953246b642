"""`upbitws collect` subprocesses and what they left in Redis, for the failover tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from upbitws.redis.keys import GroupKeys

BUSY = [
    "KRW-BTC",
    "KRW-ETH",
    "KRW-XRP",
    "KRW-SOL",
    "KRW-DOGE",
    "KRW-USDT",
    "KRW-ADA",
    "KRW-TRX",
    "KRW-LINK",
    "KRW-AVAX",
    "KRW-DOT",
    "KRW-BCH",
]


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    stderr: Path

    def signal(self, sig: signal.Signals) -> float:
        self.process.send_signal(sig)
        return time.time()

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


@contextmanager
def collectors(
    tmp: Path, redis_url: str, ws_url: str, names: Sequence[str], *args: str
) -> Iterator[dict[str, Proc]]:
    """Start one ``upbitws collect`` per name; every one still running is killed on exit."""
    procs: dict[str, Proc] = {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        for name in names:
            err = tmp / f"{name}.err"
            command = [sys.executable, "-m", "upbitws", "collect", "--redis", redis_url]
            command += ["--url", ws_url, "--member", name, *args]
            with err.open("wb") as stderr:
                process = subprocess.Popen(
                    command, stdout=subprocess.DEVNULL, stderr=stderr, env=env
                )
            procs[name] = Proc(name, process, err)
        yield procs
    finally:
        for proc in procs.values():
            if proc.process.poll() is None:
                proc.process.send_signal(signal.SIGCONT)
                proc.process.kill()
            proc.process.wait(10)


async def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def events(client: Any, keys: GroupKeys) -> list[dict[str, str]]:
    entries = await client.xrange(keys.log)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


async def holders(client: Any, keys: GroupKeys) -> dict[int, str | None]:
    values = await client.mget([keys.lease(s) for s in range(keys.shards)])
    return {s: v.decode() if v else None for s, v in enumerate(values)}


async def ready_after(
    client: Any, keys: GroupKeys, shards: set[int], since: float
) -> dict[int, float]:
    """Per shard, the time it became ready (taken and backfilled) after ``since``."""
    out: dict[int, float] = {}
    for event in await events(client, keys):
        shard = int(event.get("shard", -1))
        if event["event"] == "ready" and shard in shards and float(event["t"]) > since:
            out.setdefault(shard, float(event["t"]))
    return out


async def stored_trades(client: Any, keys: GroupKeys, code: str) -> list[dict[bytes, bytes]]:
    return [fields for _id, fields in await client.xrange(keys.stream("trade", code))]


@dataclass
class Tape:
    """One market's trades in Redis against the simulator's history."""

    code: str
    expected: int  # trades the simulator made in the window
    missing: list[int]
    duplicated: int
    unknown: list[int]  # stored in the window, never traded
    recovered: int  # stored from REST


async def snapshot_and_catch_up(
    client: Any, keys: GroupKeys, sim: Any, codes: Sequence[str]
) -> dict[str, Any]:
    """The simulator's history now (the run window's end), once Redis holds its newest trade."""
    truth = {code: sim.trades(code) for code in codes}

    async def caught_up() -> bool:
        for code in codes:
            stored = {int(f[b"sid"]) for f in await stored_trades(client, keys, code)}
            if truth[code][-1].sequential_id not in stored:
                return False
        return True

    await wait_for(caught_up, 10, "the collectors to catch up")
    return truth


async def compare(client: Any, keys: GroupKeys, truth: dict[str, Any]) -> list[Tape]:
    """Per market: Redis against the simulator from the first stored trade's millisecond
    (exclusive: trades of that millisecond may predate the first subscription) to the end."""
    tapes = []
    for code, trades in truth.items():
        fields = await stored_trades(client, keys, code)
        ids = [int(f[b"sid"]) for f in fields]
        first_ts = int(fields[0][b"ts"])
        end_ts = trades[-1].trade_timestamp
        expected = {t.sequential_id for t in trades if first_ts < t.trade_timestamp <= end_ts}
        window = {
            sid for sid, f in zip(ids, fields, strict=True) if first_ts < int(f[b"ts"]) <= end_ts
        }
        tapes.append(
            Tape(
                code,
                len(expected),
                sorted(expected - set(ids)),
                len(ids) - len(set(ids)),
                sorted(window - expected),
                sum(f.get(b"src") == b"rest" for f in fields),
            )
        )
    return tapes
