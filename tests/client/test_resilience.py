"""The client never stalls silently: one test per fault, against the real simulator."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
from upbitws import (
    AuthenticationError,
    Connected,
    DataStalledError,
    Disconnected,
    ErrorOccurred,
    PongTimeoutError,
    RateLimitedError,
    Reconnected,
    Reconnecting,
    RetriesExhaustedError,
    Ticker,
    Trade,
)

from .conftest import FAST, SimFactory, eventually, until

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

SUBS = [
    upbitws.ticker("KRW-BTC", "KRW-ETH"),
    upbitws.trade("KRW-BTC"),
    upbitws.orderbook("KRW-XRP"),
]


def _server_set(reply: upbitws.SubscriptionList) -> set[tuple[str, tuple[str, ...]]]:
    return {(e.type, tuple(sorted(e.codes or ()))) for e in reply.result}


async def test_messages_flow_and_lifecycle_starts_with_connected(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        seen = await until(stream, lambda m: isinstance(m, Trade))
        assert isinstance(seen[0], Connected)
        assert seen[0].attempt == 0
        await until(stream, lambda m: isinstance(m, Ticker))
        stats = stream.stats()
        assert stats.state == "open"
        assert stats.messages_sent == 1  # one request carried the whole set
        assert stats.received["trade"] >= 1


@pytest.mark.parametrize(
    ("kind", "code"), [("drop", None), ("close", 1000), ("close", 1001), ("close", 1011)]
)
async def test_every_drop_reconnects_and_restores_the_whole_set(
    sim: Simulator, kind: str, code: int | None
) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        before = _server_set(await stream.list_subscriptions())
        fields: dict[str, Any] = {} if code is None else {"code": code}
        assert sim.apply_fault(kind, **fields) == 1
        seen = await until(stream, lambda m: isinstance(m, Reconnected))
        disconnected = [e for e in seen if isinstance(e, Disconnected)]
        assert len(disconnected) == 1
        if code is not None:
            assert disconnected[0].cause.close_code == code
        assert any(isinstance(e, Reconnecting) for e in seen)
        await until(stream, lambda m: isinstance(m, Trade))
        assert _server_set(await stream.list_subscriptions()) == before
        assert stream.stats().reconnections == 1


async def test_half_open_is_detected_within_ping_interval_plus_pong_timeout(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, data_timeout=None, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        sim.apply_fault("half_open")
        started = time.monotonic()
        seen = await until(stream, lambda m: isinstance(m, Disconnected))
        elapsed = time.monotonic() - started
        assert isinstance(seen[-1].cause, PongTimeoutError)
        # ping_interval + pong_timeout, plus scheduling slack
        assert elapsed <= FAST["ping_interval"] + FAST["pong_timeout"] + 0.5
        await until(stream, lambda m: isinstance(m, Reconnected))


async def test_silence_with_pongs_is_caught_by_the_data_watchdog(sim: Simulator) -> None:
    async with upbitws.connect(
        SUBS, url=sim.ws_url, data_timeout=0.6, probe_timeout=0.4, **FAST
    ) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        sim.apply_fault("silence")
        started = time.monotonic()
        seen = await until(stream, lambda m: isinstance(m, Disconnected))
        assert isinstance(seen[-1].cause, DataStalledError)
        assert time.monotonic() - started < 0.6 + 0.4 + 1.0
        await until(stream, lambda m: isinstance(m, Reconnected))
        await until(stream, lambda m: isinstance(m, Trade))


async def test_the_watchdog_is_armed_by_the_subscribe_not_the_first_message(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim()
    sim.apply_fault("silence", target="next")  # the first connection never delivers anything
    async with upbitws.connect(
        SUBS, url=sim.ws_url, data_timeout=0.5, probe_timeout=0.3, **FAST
    ) as stream:
        seen = await until(stream, lambda m: isinstance(m, Disconnected), timeout=5)
        assert isinstance(seen[-1].cause, DataStalledError)
        await until(stream, lambda m: isinstance(m, Trade))


async def test_429_waits_for_retry_after(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sim.apply_fault("reject_upgrade", status=429, retry_after=1, target="next", next_n=1)
    started = time.monotonic()
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        seen = await until(stream, lambda m: isinstance(m, Connected))
        waited = time.monotonic() - started
        errors = [e for e in seen if isinstance(e, ErrorOccurred)]
        assert isinstance(errors[0].error, RateLimitedError)
        assert errors[0].error.retry_after == 1
        retry = next(e for e in seen if isinstance(e, Reconnecting))
        assert retry.delay >= 1.0
        assert waited >= 1.0


async def test_accept_then_close_cannot_storm(make_sim: SimFactory) -> None:
    """A server that accepts and closes at once: connects stay bounded by backoff (which does
    not reset on a short connection) and the 5/s connect limit."""
    sim = await make_sim(connect_limit=None)
    sim.apply_fault("close_after", count=0, target="next", next_n=1000)
    options = dict(FAST)
    options["backoff"] = upbitws.BackoffPolicy(initial=0.1, maximum=2.0, stable_after=5.0)
    async with upbitws.connect(SUBS, url=sim.ws_url, **options):
        await asyncio.sleep(3.0)
        connects = sim.stats()["connections_total"]
    # 5/s limiter alone would allow 15; growing backoff keeps it well under.
    assert 2 <= connects <= 12


async def test_retry_limit_ends_the_stream_with_the_last_error(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sim.apply_fault("reject_upgrade", status=429, retry_after=0, target="all")
    async with upbitws.connect(SUBS, url=sim.ws_url, max_retries=3, **FAST) as stream:
        with pytest.raises(RetriesExhaustedError) as info:
            await until(stream, lambda m: False, timeout=10)
    assert isinstance(info.value.__cause__, RateLimitedError)
    assert sim.stats()["rejected_upgrades"] == 3


async def test_invalid_auth_ends_the_stream_with_a_typed_error_and_no_retry(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(auth_failure="frame")  # accepted, then INVALID_AUTH (one connection)
    wrong = upbitws.Credentials("upbitws-simulator-access-key-0000000000", "not-the-secret")
    async with upbitws.connect(
        upbitws.my_order(), url=sim.ws_url, credentials=wrong, **FAST
    ) as stream:
        with pytest.raises(AuthenticationError, match="allow-list"):
            await until(stream, lambda m: False, timeout=10)
        assert stream.stats().connections[0].state == "failed"
    assert sim.stats()["connections_total"] == 1


async def test_runtime_subscribe_keeps_the_earlier_streams(sim: Simulator) -> None:
    async with upbitws.connect(upbitws.ticker("KRW-BTC"), url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Ticker))
        await stream.subscribe(upbitws.trade("KRW-ETH"))
        await until(stream, lambda m: isinstance(m, Trade) and m.code == "KRW-ETH")
        await until(stream, lambda m: isinstance(m, Ticker) and m.code == "KRW-BTC")
        assert _server_set(await stream.list_subscriptions()) == {
            ("ticker", ("KRW-BTC",)),
            ("trade", ("KRW-ETH",)),
        }
        await stream.unsubscribe("ticker")  # requests go out in call order
        assert _server_set(await stream.list_subscriptions()) == {("trade", ("KRW-ETH",))}


async def test_runtime_changes_are_coalesced_under_the_message_limit(sim: Simulator) -> None:
    async with upbitws.connect(upbitws.ticker("KRW-BTC"), url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Ticker))
        for code in ("KRW-ETH", "KRW-XRP") * 10:
            await stream.subscribe(upbitws.trade(code))
        await asyncio.sleep(1.5)
        sent = stream.stats().messages_sent
        # 20 changes, but never more than 5 requests a second (the server would close us)
        assert sent <= 1 + 5 * 2
        assert stream.stats().reconnections == 0
        assert _server_set(await stream.list_subscriptions()) == {
            ("ticker", ("KRW-BTC",)),
            ("trade", ("KRW-ETH", "KRW-XRP")),
        }


async def test_a_malformed_frame_is_counted_and_skipped(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        sim.apply_fault("malformed")
        await eventually(lambda: stream.stats().decode_errors == 1)
        await until(stream, lambda m: isinstance(m, Trade))
        assert stream.stats().reconnections == 0


async def test_text_frames_are_decoded_like_binary_ones(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        sim.apply_fault("text_frames")
        count = stream.stats().received["trade"]
        await until(stream, lambda m: isinstance(m, Trade))
        await eventually(lambda: stream.stats().received["trade"] > count + 3)
        assert stream.stats().decode_errors == 0


async def test_a_consumer_slower_than_the_pong_timeout_does_not_cause_a_reconnect(
    sim: Simulator,
) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        await asyncio.sleep(FAST["pong_timeout"] * 3)  # nobody iterates
        await until(stream, lambda m: isinstance(m, Trade))
        stats = stream.stats()
        assert stats.reconnections == 0
        assert sum(stats.conflated.values()) > 0  # tickers conflated meanwhile


async def test_status_keepalive_mode_uses_text_ping(make_sim: SimFactory) -> None:
    sim = await make_sim(status_interval=0.2)
    async with upbitws.connect(
        SUBS, url=sim.ws_url, keepalive="status", data_timeout=None, **FAST
    ) as stream:
        await until(stream, lambda m: isinstance(m, Trade))
        await asyncio.sleep(1.0)
        assert stream.stats().reconnections == 0
        sim.apply_fault("half_open")  # no more UP frames
        seen = await until(stream, lambda m: isinstance(m, Disconnected))
        assert isinstance(seen[-1].cause, PongTimeoutError)


def _client_tasks(tasks: set[asyncio.Task[Any]]) -> list[str]:
    """Tasks running client code (anything but the simulator's server side)."""
    names = []
    for task in tasks:
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code else ""
        if "simulator" not in filename and "web_protocol" not in filename:
            names.append(f"{task.get_name()} {filename}")
    return names


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_shutdown_leaves_no_task_and_no_socket(sim: Simulator) -> None:
    gc.collect()
    tasks_before = asyncio.all_tasks()
    fds_before = _open_fds()
    for _ in range(3):
        async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
            await until(stream, lambda m: isinstance(m, Trade))
            sim.apply_fault("drop")
            await until(stream, lambda m: isinstance(m, Reconnected))
    await asyncio.sleep(0.05)
    gc.collect()
    assert asyncio.all_tasks() - tasks_before == set()
    assert _open_fds() <= fds_before
    await eventually(lambda: sim.stats()["connections"] == 0)


async def test_cancelling_the_consumer_task_closes_everything(sim: Simulator) -> None:
    tasks_before = asyncio.all_tasks()

    async def consume() -> None:
        async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
            async for _ in stream:
                pass

    task = asyncio.create_task(consume())
    await eventually(lambda: sim.stats()["connections"] == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _client_tasks(asyncio.all_tasks() - tasks_before) == []
    # the simulator's own handler tasks end once it sees the close
    await eventually(lambda: sim.stats()["connections"] == 0)
    await eventually(lambda: asyncio.all_tasks() - tasks_before == set())


async def test_float_mode_and_simple_format(sim: Simulator) -> None:
    async with upbitws.connect(
        SUBS, url=sim.ws_url, format="SIMPLE", numbers="float", **FAST
    ) as stream:
        seen = await until(stream, lambda m: isinstance(m, Trade))
        assert isinstance(seen[-1].trade_price, float)


async def test_sync_facade_from_a_thread(sim: Simulator) -> None:
    import upbitws.sync

    def run() -> list[Any]:
        got: list[Any] = []
        with upbitws.sync.connect(upbitws.trade("KRW-BTC"), url=sim.ws_url) as stream:
            for message in stream:
                got.append(message)
                if len(got) == 3:
                    break
        return got

    got = await asyncio.wait_for(asyncio.to_thread(run), 15)
    assert [type(m) for m in got] == [Trade, Trade, Trade]
