"""Alert delivery to a webhook: a loopback aiohttp receiver, the real stream and simulator."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

import upbitws
from upbitws import AlertRaised, AlertResolved, Trade
from upbitws.metrics import AlertRules, WebhookSink, monitor, redact_url
from upbitws.metrics.webhook import alert_payload, check_webhook_url

from .conftest import FAST, eventually

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

SUBS = [upbitws.ticker("KRW-BTC"), upbitws.trade("KRW-BTC")]
ONLY_NO_DATA = AlertRules().with_settings(
    [
        "no_data=0.6",
        *(
            f"{n}=off"
            for n in (
                "reconnect_storm",
                "gap_unrecoverable",
                "latency_p99_ms",
                "rss_mb",
                "cpu_percent",
                "loop_lag_ms",
            )
        ),
    ]
)
SECRET_PATH = "/services/T000/B000/S3CRETT0KEN"


class Receiver:
    """A loopback webhook: records every POSTed JSON body; ``mode`` can make it fail."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.mode = "ok"  # ok | fail_once | hang
        self.failures = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.mode == "fail_once" and self.failures == 0:
            self.failures += 1
            return web.Response(status=503)
        if self.mode == "hang":
            await asyncio.sleep(3600)
        self.bodies.append(body)
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post(SECRET_PATH, rec.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rec.url = f"http://hookuser:hookpass@127.0.0.1:{port}{SECRET_PATH}?token=QUERYSECRET"
    try:
        yield rec
    finally:
        await runner.cleanup()


def _dead_url() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}?token=QUERYSECRET"


async def _silence_then_recover(
    sim: Simulator, stream: upbitws.Stream, done: Callable[[], Awaitable[bool] | bool]
) -> list[Any]:
    seen: list[Any] = []

    async def consume() -> None:
        async for item in stream:
            seen.append(item)  # noqa: PERF401 - the test watches it grow

    async with asyncio.TaskGroup() as group:
        consumer = group.create_task(consume())
        await eventually(lambda: any(isinstance(m, Trade) for m in seen))
        sim.apply_fault("silence")
        await eventually(lambda: any(isinstance(m, AlertRaised) for m in seen), timeout=5)
        sim.clear_faults()
        await eventually(lambda: any(isinstance(m, AlertResolved) for m in seen), timeout=5)
        await eventually(done, timeout=10)
        await asyncio.sleep(0.5)  # anything extra would arrive now
        consumer.cancel()
    return seen


async def test_exactly_one_raise_and_one_resolve_reach_the_webhook(
    sim: Simulator, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.mode = "fail_once"  # the first POST gets 503: retried, still exactly once
    caplog.set_level(logging.DEBUG, logger="upbitws")
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        monitor(stream, ONLY_NO_DATA, webhook=receiver.url, interval=0.1),
    ):
        await _silence_then_recover(sim, stream, lambda: len(receiver.bodies) >= 2)
    assert [(b["status"], b["alert"]) for b in receiver.bodies] == [
        ("firing", "no_data"),
        ("resolved", "no_data"),
    ]
    assert receiver.failures == 1
    firing, resolved = receiver.bodies
    assert firing["text"].startswith("[FIRING] upbitws no_data (critical): no ")
    assert resolved["text"].startswith("[RESOLVED] upbitws no_data (critical): ")
    assert firing["severity"] == "critical"
    assert firing["since"] == resolved["since"]
    assert "at" in resolved
    assert isinstance(firing["value"], float)
    # The webhook's secrets never reach a log line.
    logs = caplog.text
    assert "retrying" in logs  # the 503 was logged...
    for secret in ("S3CRETT0KEN", "QUERYSECRET", "hookpass", "hookuser", "T000"):
        assert secret not in logs  # ...without the URL's secret parts


@pytest.mark.parametrize("kind", ["unreachable", "hanging"])
async def test_a_dead_or_slow_webhook_never_stalls_the_stream(
    sim: Simulator, receiver: Receiver, kind: str
) -> None:
    url = _dead_url() if kind == "unreachable" else receiver.url
    receiver.mode = "hang"
    sink = WebhookSink(url, timeout=0.3, attempts=3, initial_delay=0.05)
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        mon = monitor(stream, ONLY_NO_DATA, interval=0.1)
        mon.sinks.append(sink)
        async with mon:
            seen = await _silence_then_recover(sim, stream, lambda: sink.failed >= 2)
            # Liveness: data keeps flowing after both transitions, the stream never dropped.
            before = stream.stats().received.get("trade", 0)
            await eventually(lambda: stream.stats().received.get("trade", 0) > before + 3)
            assert stream.stats().state == "open"
            assert stream.stats().reconnections == 0
    assert sink.delivered == 0
    assert sink.failed == 2  # raise and resolve, each given up after its attempts
    assert [type(m).__name__ for m in seen if isinstance(m, AlertRaised | AlertResolved)] == [
        "AlertRaised",
        "AlertResolved",
    ]
    assert receiver.bodies == []


async def test_a_full_queue_drops_the_oldest_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    sink = WebhookSink("https://hooks.example/x/SECRET", queue_size=2)
    events = [AlertRaised(f"a{i}", "warning", "s", 0.0, 1.0) for i in range(3)]
    for event in events:
        sink.offer(event)
    assert sink.pending == 2
    assert sink.dropped == 1
    assert "dropped the raise of a0" in caplog.text
    assert "SECRET" not in caplog.text
    assert "SECRET" not in repr(sink)


def test_redaction_and_validation() -> None:
    assert (
        redact_url("https://u:p@hooks.slack.com/services/T/B/X?y=1") == "https://hooks.slack.com/…"
    )
    assert redact_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert redact_url("http://127.0.0.1:8080/?k=v") == "http://127.0.0.1:8080/…"
    for bad in ("ftp://host/x", "hooks.slack.com/x", "http:///path"):
        with pytest.raises(upbitws.ConfigurationError) as info:
            check_webhook_url(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(upbitws.ConfigurationError):
        WebhookSink("https://x.example/", attempts=0)


def test_payload_of_a_resolve() -> None:
    body = alert_payload(AlertResolved("rss_mb", "warning", "ok now", 0.0, float("nan"), 60.0))
    assert body == {
        "text": "[RESOLVED] upbitws rss_mb (warning): ok now",
        "status": "resolved",
        "alert": "rss_mb",
        "severity": "warning",
        "summary": "ok now",
        "since": "1970-01-01T00:00:00+00:00",
        "value": None,
        "source": "upbitws",
        "at": "1970-01-01T00:01:00+00:00",
    }
