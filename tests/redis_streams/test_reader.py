"""Reading a group's streams back: typed models, consumer groups, a dead consumer's entries
claimed by another (`upbitws.redis.subscribe` and `upbitws tail`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

import upbitws
from upbitws import RecoveredTrade, Trade
from upbitws.redis import RedisStoreError, subscribe
from upbitws.redis.keys import GroupKeys
from upbitws.redis.store import Store, TradeRow

from .collectors import wait_for

if TYPE_CHECKING:
    from .conftest import RedisServer

DATA = Path(__file__).parent.parent / "data"
CODES = ("KRW-BTC", "KRW-ETH")


def _template() -> Trade[Any]:
    (trade,) = upbitws.decode((DATA / "trade_default.json").read_bytes())
    assert isinstance(trade, Trade)
    return trade


class Writer:
    """Appends trades with ids 1, 2, … to both codes, as a collector holding the lease."""

    def __init__(self, client: Any) -> None:
        self.keys = GroupKeys("g", 4)
        self.store = Store(client, self.keys)
        self.tokens: dict[str, str] = {}
        self.template = _template()
        self.next = 1

    async def start(self) -> None:
        await self.store.configure()
        for code in CODES:
            shard = self.keys.shard(code)
            token = self.tokens.get(code) or await self.store.acquire(shard, "w", 60)
            assert token is not None
            self.tokens[code] = token

    async def write(self, n: int, source: str = "") -> list[tuple[str, int]]:
        written = []
        for code in CODES:
            rows = []
            for sid in range(self.next, self.next + n):
                trade = msgspec.structs.replace(self.template, code=code, sequential_id=sid)
                rows.append(TradeRow(sid, sid, upbitws.encode(trade), 0, source))
                written.append((code, sid))
            assert await self.store.append_trades(code, self.tokens[code], rows) == n
        self.next += n
        return written


async def test_subscribe_yields_the_typed_messages_written(client: Any, redis_server: Any) -> None:
    writer = Writer(client)
    await writer.start()
    await writer.write(3)
    await writer.write(2, source="rest")
    sub = subscribe(
        redis_server.url,
        group="g",
        types=["trade"],
        codes=["krw-btc"],
        consumer_group="cg",
        consumer="c",
        start="0",
    )
    got = []
    async with sub:
        async for message in sub:
            got.append(message)
            if len(got) == 5:
                break
    assert [m.sequential_id for m in got] == [1, 2, 3, 4, 5]
    assert [isinstance(m, RecoveredTrade) for m in got] == [False] * 3 + [True] * 2
    expected = msgspec.structs.replace(writer.template, sequential_id=1)
    assert got[0] == expected  # exact numbers, every field
    pending = await client.xpending(writer.keys.stream("trade", "KRW-BTC"), "cg")
    assert pending["pending"] == 0  # closing acknowledged what was yielded


async def test_bad_reader_input_fails_fast(redis_server: RedisServer) -> None:
    with pytest.raises(upbitws.ConfigurationError, match="types"):
        subscribe(redis_server.url, group="g", types=["candle"], codes=["KRW-BTC"],
                  consumer_group="cg", consumer="c")  # fmt: skip
    with pytest.raises(upbitws.ConfigurationError, match="Redis URL"):
        subscribe("http://x", group="g", types=["trade"], codes=["KRW-BTC"],
                  consumer_group="cg", consumer="c")  # fmt: skip
    with pytest.raises(RedisStoreError, match="upbitws collect --group nope"):
        async with subscribe(redis_server.url, group="nope", types=["trade"], codes=["KRW-BTC"],
                             consumer_group="cg", consumer="c"):  # fmt: skip
            pass


async def test_two_consumers_split_the_entries_and_a_killed_ones_are_claimed(
    client: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    writer = Writer(client)
    await writer.start()
    b = subscribe(
        redis_server.url,
        group="g",
        types=["trade"],
        codes=CODES,
        consumer_group="cg",
        consumer="b",
        start="0",
        claim_after=3.0,  # long enough to see "a" hold entries before "b" claims them
    )
    b_got: list[tuple[str, int]] = []

    done = asyncio.Event()

    async def consume() -> None:
        async for m in b:  # appended one by one: the test watches the list grow
            if done.is_set():
                return
            b_got.append((m.code, m.sequential_id))
            await asyncio.sleep(0.005)  # "b" does some work per message; "a" is faster

    command = [sys.executable, "-m", "upbitws", "tail", "trade", *CODES, "--redis"]
    command += [redis_server.url, "--group", "g", "--consumer-group", "cg"]
    command += ["--consumer", "a", "--jsonl", "--claim-after", "30"]
    written: list[tuple[str, int]] = []
    async with b, asyncio.TaskGroup() as tasks:
        reader = tasks.create_task(consume())
        # "a" prints into a pipe nobody reads: once the pipe is full it is stuck mid-batch,
        # holding entries it read and never acknowledged. Then it is killed.
        a = _spawn(command)
        try:

            async def a_reads() -> bool:  # blocked readers are served in turn: "a" gets one
                written.extend(await writer.write(1))
                return await _consumers(client, writer.keys)

            await wait_for(a_reads, 20, "'a' to be reading")
            for _ in range(60):
                written += await writer.write(10)
                await asyncio.sleep(0.02)
            a_pending = await wait_for(
                lambda: _pending_of(client, writer.keys, "a"), 10, "'a' to hold entries"
            )
            b_before_kill = len(b_got)
            a.send_signal(signal.SIGKILL)
            out, _ = a.communicate(timeout=10)
        finally:
            if a.poll() is None:
                a.kill()
                a.wait(5)
            if a.stdout is not None:
                a.stdout.close()
        a_got = [(m["code"], m["sequential_id"]) for m in map(json.loads, out.splitlines())]

        async def all_seen() -> bool:
            return set(a_got) | set(b_got) >= set(written)

        await wait_for(all_seen, 15, "every entry to be read by someone")
        done.set()
        await writer.write(1)  # wakes "b", which stops before taking it
        await reader
    for key in (writer.keys.stream("trade", c) for c in CODES):
        assert (await client.xpending(key, "cg"))["pending"] == 0
    assert len(set(written)) == len(written) >= 1200
    assert a_got  # both took a share while both were alive
    assert b_before_kill
    assert a_pending > 0
    assert b.claimed >= a_pending  # what "a" held went to "b"
    assert len(b_got) == len(set(b_got))  # "b" saw nothing twice


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )


async def _consumers(client: Any, keys: GroupKeys) -> bool:
    """Whether consumer "a" has read something (it exists in a stream's group then)."""
    for code in CODES:
        names = {c["name"] for c in await client.xinfo_consumers(keys.stream("trade", code), "cg")}
        if b"a" in names or "a" in names:
            return True
    return False


async def _pending_of(client: Any, keys: GroupKeys, consumer: str) -> int:
    total = 0
    for code in CODES:
        with contextlib.suppress(Exception):
            rows = await client.xpending_range(
                keys.stream("trade", code), "cg", "-", "+", 1000, consumername=consumer
            )
            total += len(rows)
    return total
