"""Trust at the edges: what retrying cannot fix ends the stream at once with the URL and a
hint, a failing stream is never silent, dead paths are aborted, productive connections reset
the backoff, one connect budget per process, Retry-After jittered and capped, a 418's block
time honoured, and no token in any error, event or stats.

Against the real simulator or a small hostile server on loopback (tests/client/hostile.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from typing import Any

import pytest
from aiohttp import web

import upbitws
from upbitws import (
    BackoffPolicy,
    Connected,
    EndpointError,
    ErrorOccurred,
    HostUnreachableError,
    RateLimitedError,
    Reconnected,
    Reconnecting,
    Ticker,
    Trade,
    UnreachableError,
)
from upbitws.simulator import Simulator

from .conftest import FAST, SimFactory, until
from .hostile import BlackholeProxy, free_port, http_server

SUBS = [upbitws.ticker("KRW-BTC"), upbitws.trade("KRW-BTC", "KRW-ETH")]
#: The hostile servers are not Upbit: no market list to check the codes against, and the
#: tests count their requests (the market check has its own tests in test_markets.py).
FAST = {**FAST, "check_markets": False}


class NoBudget:
    """A connect budget that admits everything (to reproduce a 429 storm on purpose)."""

    async def acquire(self, key: str) -> None:
        return None


async def _fatal(url: str, **options: Any) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(upbitws.FatalError) as info:
        async with upbitws.connect(SUBS, url=url, **{**FAST, **options}) as stream:
            await until(stream, lambda m: False, timeout=10)
    return info.value, time.monotonic() - started


# -- 1. fatal what retrying cannot fix ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "extra"),
    [
        (404, {}),
        (400, {}),
        (405, {}),
        (426, {"Upgrade": "websocket"}),
        (301, {"Location": "/loop"}),  # a redirect loop
        (200, {}),  # a plain web page
    ],
)
async def test_upgrade_answers_retrying_cannot_fix_end_the_stream_at_once(
    status: int, extra: dict[str, str]
) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text="not here", headers=extra)

    async with http_server(answer) as (port, seen):
        url = f"ws://127.0.0.1:{port}/wrong/path"
        error, elapsed = await _fatal(url)
        assert isinstance(error, EndpointError)
        assert url in str(error)
        assert str(status) in str(error)
        if status >= 400:
            assert f"did you mean ws://127.0.0.1:{port}/websocket/v1?" in str(error)
        assert elapsed < 2.0
        attempts = len(seen)
        await asyncio.sleep(0.3)
        assert len(seen) == attempts  # never retried (a redirect loop: one upgrade, followed)
        assert attempts == 1 or status == 301


async def test_a_404_on_the_private_endpoint_says_how_the_private_url_is_derived() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404)

    async with http_server(answer) as (port, _):
        creds = upbitws.Credentials("AK" + "0" * 38, "SK" + "0" * 38)
        with pytest.raises(EndpointError, match="private_url="):
            async with upbitws.connect(
                upbitws.my_order(),
                url=f"ws://127.0.0.1:{port}/websocket/v1",
                private_url=f"ws://127.0.0.1:{port}/websocket/v1/private/private",
                credentials=creds,
                **FAST,
            ) as stream:
                await until(stream, lambda m: False, timeout=10)


async def test_unreachable_hosts_are_fatal_before_the_first_connection(sim: Simulator) -> None:
    cases = {
        "refused": f"ws://127.0.0.1:{free_port()}/websocket/v1",
        "dns": "ws://no-such-host.invalid:8765/websocket/v1",
        "tls": f"wss://127.0.0.1:{sim.port}/websocket/v1",  # wss:// to a plain port
    }
    for name, url in cases.items():
        error, elapsed = await _fatal(url)
        assert isinstance(error, UnreachableError), name
        assert error.name == name
        assert url in str(error)
        assert "retry_initial_connect" in str(error)
        assert isinstance(error.__cause__, HostUnreachableError)
        assert elapsed < 5.0


async def test_retry_initial_connect_keeps_retrying_until_the_server_is_up() -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/websocket/v1"
    async with upbitws.connect(SUBS, url=url, retry_initial_connect=True, **FAST) as stream:
        seen = await until(
            stream,
            lambda m: isinstance(m, Reconnecting) and m.attempt >= 3,
        )
        causes = [e.cause for e in seen if isinstance(e, Reconnecting)]
        assert all(isinstance(c, HostUnreachableError) and c.name == "refused" for c in causes)
        sim = Simulator(markets=["KRW-BTC", "KRW-ETH"], trade_rate=3.0, port=port)
        await sim.start()
        try:
            await until(stream, lambda m: isinstance(m, Connected))
        finally:
            await sim.aclose()


async def test_after_a_first_connection_an_unreachable_host_is_transient() -> None:
    port = free_port()
    sim = Simulator(markets=["KRW-BTC", "KRW-ETH"], trade_rate=3.0, port=port)
    await sim.start()
    async with upbitws.connect(SUBS, url=sim.ws_url, data_timeout=None, **FAST) as stream:
        try:
            await until(stream, lambda m: isinstance(m, Ticker))
        finally:
            await sim.aclose()  # the server goes away: refused from now on
        seen = await until(
            stream,
            lambda m: isinstance(m, Reconnecting) and isinstance(m.cause, HostUnreachableError),
        )
        assert not any(isinstance(e, ErrorOccurred) and e.fatal for e in seen)
        sim = Simulator(markets=["KRW-BTC", "KRW-ETH"], trade_rate=3.0, port=port)
        await sim.start()
        try:
            await until(stream, lambda m: isinstance(m, Reconnected))
        finally:
            await sim.aclose()


# -- 2. the private URL ---------------------------------------------------------------------


async def test_the_private_url_as_url_is_never_doubled(make_sim: SimFactory) -> None:
    sim = await make_sim()
    creds = upbitws.Credentials(sim.config.access_key, sim.config.secret_key)
    async with upbitws.connect(
        [upbitws.my_order(), upbitws.ticker("KRW-BTC")],
        url=sim.private_ws_url,
        credentials=creds,
        **FAST,
    ) as stream:
        seen = await until(stream, lambda m: isinstance(m, Ticker))
        connected = {e.endpoint: e.url for e in seen if isinstance(e, Connected)}
        assert connected.get("public") == sim.ws_url
        if "private" not in connected:
            more = await until(stream, lambda m: isinstance(m, Connected))
            connected["private"] = more[-1].url
        assert connected["private"] == sim.private_ws_url


# -- 3. never silent ------------------------------------------------------------------------


async def test_a_failing_stream_warns_with_the_url_and_the_cause_without_flooding(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def unavailable(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="maintenance")

    async with http_server(unavailable) as (port, seen):
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        options = {**FAST, "backoff": BackoffPolicy(initial=0.05, maximum=0.1)}
        with caplog.at_level(logging.INFO, logger="upbitws"):
            async with upbitws.connect(SUBS, url=url, **options):
                await asyncio.sleep(2.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(seen) >= 8  # it kept trying
    assert 1 <= len(warnings) <= 3  # the first failure and the first at the cap; not one a try
    assert url in warnings[0]
    assert "503" in warnings[0]


# -- 4. dead paths aborted; backoff counts failures, not drops ------------------------------


async def test_a_half_open_path_is_aborted_and_replaced_in_time(sim: Simulator) -> None:
    async with BlackholeProxy(sim.port) as proxy:
        url = f"ws://127.0.0.1:{proxy.port}/websocket/v1"
        async with upbitws.connect(
            SUBS, url=url, data_timeout=None, close_timeout=2.0, **FAST
        ) as stream:
            await until(stream, lambda m: isinstance(m, Trade))
            proxy.freeze()  # both directions swallowed, sockets open: a close cannot complete
            frozen_at = time.monotonic()
            await until(stream, lambda m: isinstance(m, Reconnected))
            assert len(proxy.accepted) == 2
            elapsed = proxy.accepted[1] - frozen_at
            assert elapsed <= FAST["ping_interval"] + FAST["pong_timeout"] + 0.5


async def test_a_flapping_path_is_retried_fast_after_productive_connections(
    sim: Simulator,
) -> None:
    """Ten drops of connections that each delivered data: every reconnect waits the first
    backoff step, and trades resume at once after the path heals."""
    policy = BackoffPolicy(initial=0.2, maximum=30.0, stable_after=30.0, productive_after=0.4)
    options = {**FAST, "backoff": policy}
    delays: list[float] = []
    async with upbitws.connect(SUBS, url=sim.ws_url, rng=lambda: 1.0, **options) as stream:
        for _ in range(10):
            productive = time.monotonic() + 0.5  # data for longer than productive_after

            def data_late(m: object, after: float = productive) -> bool:
                return isinstance(m, Ticker | Trade) and time.monotonic() >= after

            await until(stream, data_late)
            sim.apply_fault("drop")
            seen = await until(stream, lambda m: isinstance(m, Reconnected), timeout=5)
            delays += [e.delay for e in seen if isinstance(e, Reconnecting)]
        healed = time.monotonic()
        await until(stream, lambda m: isinstance(m, Trade))
        assert time.monotonic() - healed < 10.0
    assert delays == [0.2] * 10  # was 0.2, 0.4, 0.8, ... 25.6 s before


# -- 8. one connect budget per process ------------------------------------------------------


async def test_fifty_streams_in_one_process_share_the_connect_budget(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(connect_limit=5)
    started = time.monotonic()
    retries: list[float] = []

    async def first_ticker(stream: upbitws.Stream) -> None:
        seen = await until(stream, lambda m: isinstance(m, Ticker), timeout=40)
        retries.extend(e.delay for e in seen if isinstance(e, Reconnecting))

    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(
                upbitws.connect(upbitws.ticker("KRW-BTC"), url=sim.ws_url, **FAST)
            )
            for _ in range(50)
        ]
        async with asyncio.TaskGroup() as tg:
            for stream in streams:
                tg.create_task(first_ticker(stream))
        elapsed = time.monotonic() - started
    # Before: ~45 HTTP 429s at once, then retries in lockstep. The budget books slots on our
    # clock and the server counts arrivals on its own, in this test on the same busy loop as
    # the 50 clients: a rare 429 from that jitter is retried with jitter, never a storm.
    assert sim.stats()["rate_limited"] <= 3
    assert len(retries) == sim.stats()["rate_limited"]
    assert len({round(d, 3) for d in retries}) == len(retries)  # no lockstep
    assert 8.0 <= elapsed < 25.0  # 50 upgrades at 5 per 1.25 s


async def test_streams_refused_together_do_not_retry_in_lockstep() -> None:
    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "1"})

    async with http_server(busy) as (port, _):
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        async with contextlib.AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(
                    upbitws.connect(SUBS, url=url, connect_budget=NoBudget(), **FAST)
                )
                for _ in range(20)
            ]
            delays = []
            for stream in streams:
                seen = await until(stream, lambda m: isinstance(m, Reconnecting))
                delays.append(seen[-1].delay)
    assert min(delays) >= 1.0
    assert len({round(d, 3) for d in delays}) >= 18  # not twenty retries at exactly 1.000 s
    assert max(delays) - min(delays) > 0.3


async def test_a_huge_retry_after_is_capped_and_reported() -> None:
    async def forever(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "1000000000"})

    async with http_server(forever) as (port, _):
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        async with upbitws.connect(SUBS, url=url, **FAST) as stream:
            seen = await until(stream, lambda m: isinstance(m, Reconnecting))
    capped = [e for e in seen if isinstance(e, ErrorOccurred) and "retry_after_cap" in str(e.error)]
    assert len(capped) == 1
    assert isinstance(capped[0].error, RateLimitedError)
    assert capped[0].error.retry_after == 600.0
    assert 600.0 <= seen[-1].delay <= 600.0 + 1.0 + 60.0  # not 31.7 years


# -- 15. a 418 block honoured from the body -------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "block"),
    [
        ({}, {"error": {"name": "too_many_requests", "message": "blocked for 42 seconds"}}, 42.0),
        (
            {"Retry-After": "5"},
            {"error": {"name": "too_many_requests", "message": "blocked for 42 seconds"}},
            42.0,
        ),
        ({}, {"error": {"name": "too_many_requests", "message": "blocked", "retry_after": 37}}, 37),
        ({"Retry-After": "50"}, {"error": {"name": "too_many_requests", "message": "x"}}, 50.0),
    ],
)
async def test_a_418_block_time_is_honoured(
    headers: dict[str, str], body: dict[str, Any], block: float
) -> None:
    async def teapot(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=418, headers=headers)

    async with http_server(teapot) as (port, seen_requests):
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        async with upbitws.connect(SUBS, url=url, **FAST) as stream:
            seen = await until(stream, lambda m: isinstance(m, Reconnecting))
        assert len(seen_requests) == 1
    error = seen[-1].cause
    assert isinstance(error, RateLimitedError)
    assert error.status_code == 418
    assert error.retry_after == block
    assert block <= seen[-1].delay <= block + 1.0 + 0.1 * block


# -- 10. the token never escapes ------------------------------------------------------------


def _exception_chain(error: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    stack = [error]
    while stack:
        current = stack.pop()
        if any(current is seen for seen in out):
            continue
        out.append(current)
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]
    return out


def _texts_of(error: BaseException) -> list[str]:
    texts = []
    for exc in _exception_chain(error):
        texts += [str(exc), repr(exc), repr(exc.args), repr(getattr(exc, "__dict__", {}))]
        texts += [repr(getattr(exc, name, None)) for name in ("request_info", "history", "headers")]
        texts.append("".join(traceback.format_exception(exc)))
        tb = exc.__traceback__
        while tb is not None:  # what a show-locals traceback prints (of upbitws' frames and
            frame = tb.tb_frame  # aiohttp's; this test's own frames hold the tokens it saw)
            if frame.f_code.co_filename != __file__:
                texts += [f"{k}={v!r}" for k, v in frame.f_locals.items()]
            tb = tb.tb_next
    return texts


@pytest.mark.parametrize("where", ["upgrade", "frame", "close"])
async def test_the_token_never_appears_in_errors_events_or_stats(where: str) -> None:
    tokens: list[str] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        tokens.append(auth.removeprefix("Bearer "))
        if where == "upgrade":
            return web.Response(
                status=404, reason=f"Not {auth}", text=f"unknown {auth}", headers={"X-Echo": auth}
            )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if where == "frame":
            await ws.send_str(f'{{"error":{{"name":"INVALID_AUTH","message":"bad {auth}"}}}}')
            await ws.close(code=1000)
        else:
            await ws.close(code=4000, message=auth[:100].encode())
        return ws

    async with http_server(echo) as (port, _):
        creds = upbitws.Credentials("AK" + "7" * 38, "SK" + "7" * 38)
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        events: list[Any] = []
        stream = upbitws.connect(
            upbitws.my_order(), url=url, credentials=creds, max_retries=1, **FAST
        )
        stream.on_event(events.append)
        async with stream:
            with pytest.raises(upbitws.UpbitWSError) as info:
                await until(stream, lambda m: False, timeout=10)
        stats = repr(stream.stats())
    assert tokens
    assert all(t.count(".") == 2 for t in tokens)  # real JWTs were sent
    texts = [*_texts_of(info.value), stats, *(repr(e) for e in events)]
    for event in events:
        for name in ("error", "cause"):
            value = getattr(event, name, None)
            if isinstance(value, BaseException):
                texts += _texts_of(value)
    for token in tokens:
        for part in token.split("."):  # not even the signature or the payload alone
            leaks = [text for text in texts if part in text]
            assert not leaks, (part, leaks[0][:2000])
