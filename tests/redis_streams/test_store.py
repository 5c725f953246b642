"""Leases, fencing tokens and the exactly-once trade append, against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from upbitws.redis._client import RedisStoreError
from upbitws.redis.keys import GroupKeys
from upbitws.redis.store import FENCED, Store, TradeRow

CODE = "KRW-BTC"


def rows(*ids: int, ts: int = 1000) -> list[TradeRow]:
    return [TradeRow(i, ts + i, b'{"sid":%d}' % i, 7) for i in ids]


async def stream_ids(client: Any, keys: GroupKeys, code: str = CODE) -> list[int]:
    entries = await client.xrange(keys.stream("trade", code))
    return [int(fields[b"sid"]) for _id, fields in entries]


async def test_a_lease_has_one_owner_and_a_new_token_each_time(client: Any) -> None:
    store = Store(client, GroupKeys("g", 4))
    first = await store.acquire(1, "a", 5.0)
    assert first == "a/1"
    assert await store.acquire(1, "b", 5.0) is None  # held
    assert await store.renew(1, "a/1", 5.0)
    assert not await store.renew(1, "b/1", 5.0)
    assert not await store.release(1, "b/1")  # only the holder may release
    assert await store.release(1, "a/1")
    assert await store.acquire(1, "a", 5.0) == "a/2"  # never the same token twice
    assert (await store.owners())[1] == "a/2"
    assert (await store.owners())[0] is None


async def test_a_lease_expires_and_the_old_token_is_fenced(client: Any) -> None:
    keys = GroupKeys("g", 4)
    store = Store(client, keys)
    old = await store.acquire(keys.shard(CODE), "a", 0.2)
    assert old is not None
    assert await store.append_trades(CODE, old, rows(1, 2)) == 2
    await asyncio.sleep(0.3)  # "a" paused past its lease
    # Free but expired: the stale token writes nothing, even before anyone took the lease.
    assert await store.append_trades(CODE, old, rows(3)) == FENCED
    new = await store.acquire(keys.shard(CODE), "b", 5.0)
    assert new is not None
    assert await store.append_trades(CODE, old, rows(4)) == FENCED
    assert not await store.renew(keys.shard(CODE), old, 5.0)
    assert await store.append_trades(CODE, new, rows(5)) == 1
    assert await stream_ids(client, keys) == [1, 2, 5]


async def test_trades_are_appended_once_by_sequential_id(client: Any) -> None:
    keys = GroupKeys("g", 2)
    store = Store(client, keys, dedupe=3)
    token = await store.acquire(keys.shard(CODE), "a", 5.0)
    assert token is not None
    assert await store.append_trades(CODE, token, rows(1, 2, 2, 3)) == 3
    assert await store.append_trades(CODE, token, rows(3, 4)) == 1
    assert await stream_ids(client, keys) == [1, 2, 3, 4]
    # The dedupe set is bounded: the newest 3 ids by trade time are kept.
    assert await client.zrange(keys.seen(CODE), 0, -1) == [b"2", b"3", b"4"]
    assert await store.tail(CODE, 2) == [(4, 1004), (3, 1003)]
    entry = (await client.xrange(keys.stream("trade", CODE)))[0][1]
    assert entry == {b"sid": b"1", b"ts": b"1001", b"m": b'{"sid":1}', b"rt": b"7", b"w": b"a/1"}


async def test_plain_appends_are_fenced_trimmed_and_keep_the_latest(client: Any) -> None:
    keys = GroupKeys("g", 2)
    store = Store(client, keys, maxlen=0)
    token = await store.acquire(keys.shard(CODE), "a", 5.0)
    assert token is not None
    pipe = client.pipeline(transaction=False)
    store.queue_plain(pipe, "ticker", CODE, token, [(b"t1", 1), (b"t2", 2)])
    store.queue_plain(pipe, "ticker", CODE, "a/0", [(b"t3", 3)])
    assert await store.execute(pipe) == [2, FENCED]
    assert await client.xlen(keys.stream("ticker", CODE)) == 2
    assert await client.hget(keys.latest("ticker", CODE), CODE) == b"t2"
    trimmed = Store(client, keys, maxlen=10)
    pipe = client.pipeline(transaction=False)
    trimmed.queue_plain(pipe, "ticker", CODE, token, [(b"x", n) for n in range(500)])
    await trimmed.execute(pipe)
    assert await client.xlen(keys.stream("ticker", CODE)) < 200  # MAXLEN ~ trims by node


async def test_members_heartbeat_and_leave(client: Any) -> None:
    store = Store(client, GroupKeys("g", 2))
    assert await store.heartbeat("a", 0.3) == ["a"]
    assert sorted(await store.heartbeat("b", 0.3)) == ["a", "b"]
    assert await store.heartbeat("b", 0.3, leave=True) == ["a"]
    await asyncio.sleep(0.4)
    assert await store.heartbeat("c", 0.3) == ["c"]  # "a" stopped beating


async def test_the_shard_count_of_a_group_is_fixed(client: Any) -> None:
    await Store(client, GroupKeys("g", 4)).configure()
    await Store(client, GroupKeys("g", 4)).configure()
    with pytest.raises(RedisStoreError, match="--shards 4"):
        await Store(client, GroupKeys("g", 8)).configure()


def test_every_key_a_script_touches_is_in_the_shards_hash_slot() -> None:
    from redis.crc import key_slot  # Redis Cluster's slot function, as redis-py computes it

    keys = GroupKeys("prod", 16)
    for code in ("KRW-BTC", "KRW-ETH", "BTC-XRP", "USDT-SOL"):
        shard = keys.shard(code)
        touched = [
            keys.lease(shard),
            keys.fence(shard),
            keys.stream("trade", code),
            keys.seen(code),
            keys.stream("orderbook", code),
            keys.latest("orderbook", code),
        ]
        assert len({key_slot(k.encode()) for k in touched}) == 1, touched
    slots = {key_slot(keys.lease(s).encode()) for s in range(16)}
    assert len(slots) > 8  # shards spread over the cluster's slots


async def test_a_cancel_swallowed_below_us_is_honoured() -> None:
    from upbitws.redis._client import honour_cancel

    async def swallowing_call() -> str:  # what redis-py does to a cancel mid-command, at times
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        return "reply"

    async def our_call() -> str:
        result = await swallowing_call()
        honour_cancel()
        return result

    task = asyncio.create_task(our_call())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
