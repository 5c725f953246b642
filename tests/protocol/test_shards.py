"""Shards and lease decisions (protocol/shards.py): no event loop, time is an input."""

from __future__ import annotations

import zlib
from collections import Counter

import pytest

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.shards import LeaseKeeper, LeasePlan, assign, partition, shard_of

MARKETS = [f"KRW-C{i:03d}" for i in range(200)]


def test_shard_of_is_a_stable_hash() -> None:
    assert shard_of("KRW-BTC", 16) == zlib.crc32(b"KRW-BTC") % 16 == 13
    table = partition([*MARKETS, "KRW-C000"], 8)
    assert sorted(table) == list(range(8))
    assert sorted(c for codes in table.values() for c in codes) == MARKETS  # each once
    assert partition(["KRW-BTC"], 4)[0] == ()  # empty shards are listed


def test_assign_balances_and_every_member_computes_the_same_table() -> None:
    assert assign(8, []) == {}
    table = assign(16, ["c", "a", "b"])
    assert table == assign(16, ["b", "c", "a", "a"])
    assert sorted(len(s) for s in table.values()) == [5, 5, 6]
    assert len(table["a"]) == 6  # the extra shard goes to the first in sorted order
    assert sorted(s for shards in table.values() for s in shards) == list(range(16))
    assert assign(2, ["a", "b", "c"])["c"] == frozenset()


def test_a_member_leaving_moves_only_its_shards_mostly() -> None:
    before = assign(64, ["a", "b", "c", "d"])
    after = assign(64, ["a", "b", "c"])
    kept = sum(len(before[m] & after[m]) for m in "abc")
    assert kept >= 40  # of the 48 shards a, b and c held, most stay put


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="shards"):
        LeaseKeeper("a", 0, 5.0)
    with pytest.raises(ConfigurationError, match="TTL"):
        LeaseKeeper("a", 4, 0.0)
    keeper = LeaseKeeper("a", 4, 6.0)
    assert keeper.orphan_after == 6.0
    assert keeper.renew_every == 2.0


def test_alone_a_collector_takes_every_free_shard() -> None:
    keeper = LeaseKeeper("a", 3, 3.0)
    plan = keeper.plan(10.0, [], {0: None, 1: None, 2: None})
    assert plan == LeasePlan(acquire=(0, 1, 2))
    for shard in plan.acquire:
        keeper.acquired(shard, 10.0)
    assert keeper.held == {0, 1, 2}
    assert keeper.valid(0, 12.9)
    assert not keeper.valid(0, 13.0)  # the lease may have expired in Redis: stop trusting it
    assert keeper.next_tick(10.0) == 11.0


def test_renew_release_and_loss() -> None:
    keeper = LeaseKeeper("a", 4, 3.0)
    for shard in range(4):
        keeper.acquired(shard, 0.0)
    mine = assign(4, ["a", "b"])["a"]
    theirs = sorted({0, 1, 2, 3} - mine)
    owners: dict[int, str | None] = dict.fromkeys(range(4), "a")
    owners[theirs[0]] = "b"  # taken by another: our lease is gone
    plan = keeper.plan(1.0, ["a", "b"], owners)
    assert plan.lost == (theirs[0],)
    assert plan.renew == tuple(sorted(mine))
    assert plan.release == tuple(theirs[1:])
    assert plan.acquire == ()
    keeper.renewed(min(mine), 1.0)
    assert keeper.valid(min(mine), 3.5)
    keeper.released(theirs[1])
    keeper.drop(theirs[0])
    keeper.renewed(theirs[0], 1.0)  # a late answer for a dropped shard changes nothing
    assert theirs[0] not in keeper.held


def test_a_paused_collector_counts_its_leases_lost() -> None:
    keeper = LeaseKeeper("a", 1, 3.0)
    keeper.acquired(0, 0.0)
    assert keeper.next_tick(2.5) == 3.0  # the deadline comes before the next renewal
    plan = keeper.plan(3.5, ["a"], {0: "a"})  # Redis still says "a", the deadline passed
    assert plan == LeasePlan(lost=(0,))


def test_a_free_shard_waits_for_its_balanced_owner_then_anyone_takes_it() -> None:
    theirs = min(assign(2, ["a", "b"])["b"])
    keeper = LeaseKeeper("a", 2, 3.0, orphan_after=2.0)
    owners: dict[int, str | None] = {0: None, 1: None}
    first = keeper.plan(0.0, ["a", "b"], owners)
    assert theirs not in first.acquire
    assert theirs not in keeper.plan(1.9, ["a", "b"], owners).acquire
    assert theirs in keeper.plan(2.0, ["a", "b"], owners).acquire  # "b" never came
    # Taken meanwhile: the wait starts over when it is free again.
    keeper.plan(2.1, ["a", "b"], {theirs: "b"})
    assert theirs not in keeper.plan(3.0, ["a", "b"], owners).acquire
    assert Counter(keeper.plan(5.0, ["a", "b"], owners).acquire)[theirs] == 1
