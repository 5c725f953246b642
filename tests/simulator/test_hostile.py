"""Hostile input never crashes a handler: Upbit's error frame and close 1000, or a normal reply.

Protocol §3.6 and §6 (every bad request: an error frame, then close 1000); REST routes and the
``/_sim/*`` control routes answer 400 with a message, never 500. The fuzz at the end sends
Hypothesis-made requests to a running simulator and checks every answer and the logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upbitws.simulator import Simulator

from ._wire import collect, expect_error, recv_json, req, token

LIST = '[{"ticket":"probe"},{"method":"LIST_SUBSCRIPTIONS"}]'


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


async def _still_serving(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The connection answers a LIST_SUBSCRIPTIONS after whatever came before (§4.10)."""
    await ws.send_str(LIST)
    for _ in range(200):
        frame = await recv_json(ws)
        if isinstance(frame, dict) and frame.get("method") == "LIST_SUBSCRIPTIONS":
            return
    raise AssertionError("no LIST_SUBSCRIPTIONS reply")


async def test_a_non_ascii_digit_depth_suffix_is_an_unknown_code(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """``KRW-BTC.²``: ``"²".isdigit()`` but ``int("²")`` fails; it used to kill the handler
    (1006). Now it is a code that matches nothing (§3.3): no data, no error."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "orderbook", "codes": ["KRW-BTC.²"]}))
        assert await collect(ws, 0.5) == []
        await _still_serving(ws)
    _no_errors_logged(caplog)


async def test_a_5000_digit_depth_is_an_unsupported_depth(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """An unsupported count gives the default 30 units (§3.4); ``int`` refuses > 4,300 digits,
    which used to kill the handler (1006)."""
    async with http.ws_connect(sim.ws_url) as ws:
        code = "KRW-BTC." + "9" * 5000
        await ws.send_str(req({"type": "orderbook", "codes": [code], "is_only_snapshot": True}))
        [book] = await collect(ws, 1.0)
        assert book["code"] == "KRW-BTC"
        assert len(book["orderbook_units"]) == 30
        await _still_serving(ws)
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError in the JSON decoder
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":' + "[" * 50_000 + "]",
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":1' + "0" * 5000 + "}]",
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":1e999999999}]',
        "[" + ",".join(['{"ticket":"t"}'] * 120_000) + "]",  # 1.8 MB: over max_request_bytes
    ],
    ids=["100k-deep nesting", "deep level", "5000-digit level", "1e999999999 level", "2 MB"],
)
async def test_hostile_requests_get_wrong_format_and_close_1000(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, payload: str
) -> None:
    async with http.ws_connect(sim.ws_url, max_msg_size=0) as ws:
        await ws.send_str(payload)
        await expect_error(ws, "WRONG_FORMAT")
    assert sim.stats()["errors_sent"] == 1
    _no_errors_logged(caplog)


async def test_invalid_utf8_text_gets_wrong_format_and_close_1000(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A text frame that is not UTF-8: aiohttp's reader closes with 1007 by itself; the
    simulator answers it as a bad request instead."""
    async with http.ws_connect(sim.ws_url) as ws:
        await ws._writer.send_frame(b"\xff\xfe[", aiohttp.WSMsgType.TEXT)
        await expect_error(ws, "WRONG_FORMAT")
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "order",
    [
        {"price": "1e999999999", "volume": "1"},
        {"price": "1e308", "volume": "1"},
        {"price": 1e308, "volume": 1},
        {"price": "100000000", "volume": "1e999999999"},
        {"price": "1e15", "volume": "1e15"},
        {"price": "1" + "0" * 5000, "volume": "1"},
    ],
)
async def test_sim_orders_answer_400_with_a_message_for_absurd_numbers(
    sim: Simulator,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    order: dict[str, Any],
) -> None:
    body = {"market": "KRW-BTC", "side": "bid", "ord_type": "limit", **order}
    async with http.post(f"{sim.url}/_sim/orders", json=body) as reply:
        assert reply.status == 400
        doc = await reply.json()
    assert doc["error"]["name"] == "invalid_parameter"
    assert doc["error"]["message"]
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "query",
    [
        "/v1/trades/ticks?market=KRW-BTC&count=" + "9" * 5000,
        "/v1/trades/ticks?market=KRW-BTC&cursor=1e999",
        "/v1/trades/ticks?market=KRW-BTC&days_ago=" + "9" * 30,
        "/v1/trades/ticks?market=KRW-BTC&to=²²:²²:²²",
        "/v1/trades/ticks?market=" + "%00" * 10,
        "/v1/market/all?is_details=" + "x" * 1000,
        "/v1/orderbook/instruments?markets=" + "KRW-BTC.²," * 100,
    ],
)
async def test_rest_routes_answer_4xx_with_a_message(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    async with http.get(sim.url + query) as reply:
        assert 400 <= reply.status < 500
        doc = await reply.json()
    assert doc["error"]["message"]
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "body",
    [
        b'{"kind":"reject_upgrade","status":418,"retry_after":1e308}',
        b'{"kind":"reject_upgrade","retry_after":1e999}',
        b'{"kind":"drop","code":' + b"9" * 5000 + b"}",
        b"[" * 100_000,
        b'{"kind":"close_after","count":-1}',
    ],
)
async def test_sim_faults_answer_400_with_a_message(
    sim: Simulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(f"{sim.url}/_sim/faults", data=body, headers=headers) as reply:
        assert reply.status == 400
        doc = await reply.json()
    assert doc["error"]["message"]
    _no_errors_logged(caplog)


# -- fuzz ---------------------------------------------------------------------------------------

_CODES = st.sampled_from(
    ["KRW-BTC", "krw-btc", "KRW-BTC.1", "KRW-BTC.15", "KRW-BTC.²", "KRW-BTC.٣", "KRW-ETH.20",
     "KRW-BTC." + "9" * 4400, "KRW-BTC.", "", "BTC-ADA.5", "NOPE-X"]
)  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | _CODES
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_TYPES = st.sampled_from(
    ["ticker", "trade", "orderbook", "candle.1s", "candle.240m", "myOrder", "myAsset",
     "announcement", "nope", ""]
)  # fmt: skip
_OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "ticket": st.text(max_size=8) | st.integers() | _JSON,
        "type": _TYPES | _JSON,
        "codes": st.lists(_CODES, max_size=4) | _JSON,
        "level": st.sampled_from([0, 1000, "1e999999999", 1e308, -1, "x"]) | _JSON,
        "format": st.sampled_from(["DEFAULT", "simple", "JSON_LIST", "SIMPLE_LIST", "?"]) | _JSON,
        "is_only_snapshot": st.booleans() | _JSON,
        "isOnlyRealtime": st.booleans() | _JSON,
        "method": st.sampled_from(["LIST_SUBSCRIPTIONS", "X"]) | _JSON,
        "categories": st.lists(st.sampled_from(["notice", "trade", "bogus"]), max_size=3),
        "include_body": st.booleans() | _JSON,
    },
)
_REQUESTS = (
    st.lists(_OBJECT, max_size=5).map(json.dumps)
    | _JSON.map(json.dumps)
    | st.text(max_size=40)
    | st.sampled_from(["PING", "[" * 3000, '[{"ticket":"t"}' + "," * 1000 + "]"])
)


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> str:
    """``"error"`` (error frame then close 1000) or ``"reply"`` (the LIST_SUBSCRIPTIONS reply
    to the probe that follows every fuzzed request, after any data frames)."""
    while True:
        msg = await ws.receive(timeout=5)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise AssertionError(f"closed with {ws.close_code} without an error frame")
        assert msg.type == aiohttp.WSMsgType.BINARY, msg
        frame = json.loads(msg.data)
        if isinstance(frame, dict) and "error" in frame:
            assert set(frame["error"]) == {"name", "message"}
            end = await ws.receive(timeout=5)
            while end.type == aiohttp.WSMsgType.BINARY:  # data queued before the error
                end = await ws.receive(timeout=5)
            assert end.type == aiohttp.WSMsgType.CLOSE, end
            assert ws.close_code == 1000
            return "error"
        if isinstance(frame, dict) and frame.get("method") == "LIST_SUBSCRIPTIONS":
            return "reply"


async def _probe(url: str, payload: str, headers: dict[str, str] | None = None) -> str:
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        await ws.send_str(payload)
        await ws.send_str(LIST)
        return await _answer(ws)


class SimThread:
    """A simulator on its own event loop in a thread, so a synchronous Hypothesis test can
    drive it (Hypothesis runs no async test bodies); stopped by :meth:`close`."""

    def __init__(self, **knobs: Any) -> None:
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sim: Simulator | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(knobs),))
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    async def _main(self, knobs: dict[str, Any]) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with Simulator(**knobs) as sim:
                self.sim = sim
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def sim_thread() -> Iterator[Simulator]:
    runner = SimThread(
        markets=["KRW-BTC", "KRW-ETH", "BTC-ADA"],
        connect_limit=None,
        error_close_delay=0.0,
        trade_rate=0.5,
    )
    try:
        assert runner.sim is not None
        yield runner.sim
    finally:
        runner.close()


_FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same cases every run; `make fuzz`-style runs can lift this
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_fuzzed_requests_always_get_an_error_frame_or_a_reply(
    sim_thread: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    answers: dict[str, int] = {"error": 0, "reply": 0}

    @settings(_FUZZ, max_examples=300)
    @given(payload=_REQUESTS)
    def one(payload: str) -> None:
        answers[asyncio.run(_probe(sim_thread.ws_url, payload))] += 1

    one()
    _no_errors_logged(caplog)
    assert answers["error"] > 0
    assert answers["reply"] > 0


def test_fuzzed_private_requests_too(
    sim_thread: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The private endpoint after auth: the same guarantees (fewer cases)."""
    cfg = sim_thread.config

    @settings(_FUZZ, max_examples=60)
    @given(payload=_REQUESTS)
    def one(payload: str) -> None:
        headers = {"Authorization": f"Bearer {token(cfg.access_key, cfg.secret_key)}"}
        asyncio.run(_probe(sim_thread.private_ws_url, payload, headers))

    one()
    _no_errors_logged(caplog)
