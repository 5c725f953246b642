"""/metrics and /healthz of a live stream against the real simulator."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
from upbitws import AlertRaised, AlertResolved, Trade
from upbitws.metrics import AlertRules, serve

from .conftest import FAST, eventually, healthz, scrape, value

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

SUBS = [upbitws.ticker("KRW-BTC", "KRW-ETH"), upbitws.trade("KRW-BTC")]
#: Only the connection alerts, so a busy test machine's CPU cannot add transitions.
QUIET = AlertRules(
    no_data=None,
    reconnect_storm=None,
    gap_unrecoverable=None,
    latency_p99_ms=None,
    rss_mb=None,
    cpu_percent=None,
    loop_lag_ms=None,
)


async def _consume(stream: upbitws.Stream, into: list[Any]) -> None:
    async for item in stream:
        into.append(item)  # noqa: PERF401 - the test watches it grow


async def test_scrape_reports_the_streams_own_counters(sim: Simulator) -> None:
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=QUIET, interval=0.1) as exporter,
    ):
        seen: list[Any] = []
        async with asyncio.TaskGroup() as group:
            consumer = group.create_task(_consume(stream, seen))
            await eventually(lambda: sum(isinstance(m, Trade) for m in seen) >= 3)
            consumer.cancel()
        families, samples = await scrape(exporter.url)
        stats = stream.stats()
        for name in (
            "upbitws_messages_received",
            "upbitws_bytes_received",
            "upbitws_messages_sent",
            "upbitws_connected",
            "upbitws_reconnects",
            "upbitws_connection_errors",
            "upbitws_last_message_timestamp_seconds",
            "upbitws_gaps",
            "upbitws_trades_recovered",
            "upbitws_duplicates_suppressed",
            "upbitws_decode_errors",
            "upbitws_dropped",
            "upbitws_conflated",
            "upbitws_queue_depth",
            "upbitws_latency_seconds",
            "upbitws_event_loop_lag_seconds",
            "upbitws_alerts_firing",
            "process_resident_memory_bytes",
            "process_cpu_seconds",
            "process_open_fds",
            "python_gc_collections",
        ):
            assert name in families, name
        trades = value(samples, "upbitws_messages_received_total", endpoint="public", type="trade")
        assert stats.received["trade"] >= trades >= 3  # read after the scrape: only grew
        assert value(samples, "upbitws_connected", endpoint="public") == 1.0
        assert value(samples, "upbitws_messages_sent_total", endpoint="public") == 1.0
        assert value(samples, "upbitws_reconnects_total", endpoint="public") == 0.0
        assert value(samples, "upbitws_bytes_received_total", endpoint="public") > 0
        assert value(samples, "upbitws_gaps_total", type="trade", outcome="detected") == 0.0
        count = value(samples, "upbitws_latency_seconds_count")
        assert count >= 1
        assert value(samples, "upbitws_latency_seconds_bucket", le="+Inf") == count
        assert value(samples, "upbitws_alerts_firing", alert="disconnected") == 0.0
        last = value(samples, "upbitws_last_message_timestamp_seconds", type="trade")
        assert time.time() - 5 < last <= time.time()
        assert value(samples, "process_resident_memory_bytes") > 1e6
        # No label carries a URL.
        assert not any("ws://" in v for _, labels in samples for _, v in labels)


async def test_drop_moves_the_reconnect_counter_and_connected_gauge(sim: Simulator) -> None:
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=QUIET, interval=0.1) as exporter,
    ):
        await eventually(lambda: stream.stats().state == "open")
        sim.apply_fault("reject_upgrade", status=429, retry_after=0)  # hold it down
        sim.apply_fault("drop")

        async def down() -> bool:
            _, samples = await scrape(exporter.url)
            return value(samples, "upbitws_connected", endpoint="public") == 0.0

        await eventually(down)
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_reconnects_total", endpoint="public") == 0.0
        assert (
            value(
                samples,
                "upbitws_connection_errors_total",
                endpoint="public",
                error="ConnectionLostError",
            )
            == 1.0
        )

        async def rejected() -> bool:
            _, samples = await scrape(exporter.url)
            key = (
                "upbitws_connection_errors_total",
                (("endpoint", "public"), ("error", "RateLimitedError")),
            )
            return samples.get(key, 0) >= 1

        await eventually(rejected)
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_connected", endpoint="public") == 0.0
        sim.clear_faults()

        async def back() -> bool:
            _, samples = await scrape(exporter.url)
            return value(samples, "upbitws_connected", endpoint="public") == 1.0

        await eventually(back)
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_reconnects_total", endpoint="public") == 1.0
        # A reconnect opens a gap per subscribed type: trades are filled, the rest healed.
        await eventually(lambda: stream.stats().gaps.get(("trade", "filled"), 0) == 1)
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_gaps_total", type="ticker", outcome="healed") == 2.0
        assert value(samples, "upbitws_gaps_total", type="trade", outcome="detected") == 1.0
        assert value(samples, "upbitws_gaps_total", type="trade", outcome="filled") == 1.0


async def test_healthz_turns_503_on_half_open_within_pong_timeout_and_200_after(
    sim: Simulator,
) -> None:
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=QUIET, interval=0.1) as exporter,
    ):
        await eventually(lambda: stream.stats().received.get("trade", 0) >= 1)

        async def status_is(wanted: int) -> bool:
            return (await healthz(exporter.url))[0] == wanted

        await eventually(lambda: status_is(200))
        sim.apply_fault("reject_upgrade", status=429, retry_after=0)  # no quick recovery
        sim.apply_fault("half_open")
        started = time.monotonic()
        await eventually(lambda: status_is(503), timeout=FAST["pong_timeout"] + 1.0)
        elapsed = time.monotonic() - started
        assert elapsed <= FAST["pong_timeout"] + 1.0
        status, body = await healthz(exporter.url)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["endpoints"]["public"]["state"] != "open"
        assert any(r.startswith("public endpoint is") for r in body["reasons"])
        sim.clear_faults()
        await eventually(lambda: status_is(200), timeout=10)
        status, body = await healthz(exporter.url)
        assert (status, body["status"], body["reasons"]) == (200, "ok", [])
        assert body["endpoints"]["public"]["reconnects"] == 1
        assert set(body["types"]) == {"ticker", "trade"}


async def test_healthz_503_when_a_type_is_silent_past_data_timeout(sim: Simulator) -> None:
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, data_timeout=1.0, probe_timeout=30, **FAST) as s,
        serve(s, port=0, rules=QUIET, interval=0.1) as exporter,
    ):
        await eventually(lambda: s.stats().received.get("trade", 0) >= 1)
        sim.apply_fault("silence")
        status: int = 200
        body: dict[str, Any] = {}

        async def unhealthy() -> bool:
            nonlocal status, body
            status, body = await healthz(exporter.url)
            return status == 503

        await eventually(unhealthy, timeout=5)
        assert body["endpoints"]["public"]["state"] == "open"  # pongs still come
        assert any("data for" in r and "data_timeout 1.0s" in r for r in body["reasons"])
        sim.clear_faults()
        await eventually(lambda: healthz_ok(exporter.url), timeout=5)


async def healthz_ok(base: str) -> bool:
    return (await healthz(base))[0] == 200


async def test_silence_raises_no_data_and_it_resolves_when_data_returns(sim: Simulator) -> None:
    rules = AlertRules().with_settings(
        ["no_data=0.8", *(f"{n}=off" for n in ("cpu_percent", "loop_lag_ms", "latency_p99_ms"))]
    )
    callbacks: list[Any] = []
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=rules, interval=0.1) as exporter,
    ):
        stream.on_event(callbacks.append)
        seen: list[Any] = []
        async with asyncio.TaskGroup() as group:
            consumer = group.create_task(_consume(stream, seen))
            await eventually(lambda: any(isinstance(m, Trade) for m in seen))
            sim.apply_fault("silence")
            silenced = time.monotonic()
            await eventually(lambda: any(isinstance(m, AlertRaised) for m in seen), timeout=5)
            raised_after = time.monotonic() - silenced
            _, samples = await scrape(exporter.url)
            assert value(samples, "upbitws_alerts_firing", alert="no_data") == 1.0
            sim.clear_faults()
            await eventually(lambda: any(isinstance(m, AlertResolved) for m in seen), timeout=5)
            index = next(i for i, m in enumerate(seen) if isinstance(m, AlertResolved))
            await eventually(lambda: len(seen) > index + 1)
            consumer.cancel()
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_alerts_firing", alert="no_data") == 0.0
    alerts = [m for m in seen if isinstance(m, AlertRaised | AlertResolved)]
    assert [(type(a).__name__, a.name) for a in alerts] == [
        ("AlertRaised", "no_data"),
        ("AlertResolved", "no_data"),
    ]
    raised, resolved = alerts
    assert isinstance(raised, AlertRaised)
    assert isinstance(resolved, AlertResolved)
    assert raised.severity == "critical"
    assert raised.summary.startswith("no ")
    assert raised.value is not None
    assert raised.value >= 0.8
    assert resolved.since == raised.since
    assert resolved.at >= raised.since
    assert 0.8 <= raised_after < 0.8 + 1.0  # threshold + monitor interval + slack
    # In order with the data, and to the callbacks too.
    assert [a for a in callbacks if isinstance(a, AlertRaised | AlertResolved)] == alerts
    after = seen[seen.index(resolved) + 1 :]
    assert after  # data again after the resolve


async def test_stats_show_memory_cpu_fds_and_loop_lag(sim: Simulator) -> None:
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        await eventually(lambda: stream.stats().cpu_percent is not None, timeout=5)
        # Block the loop longer than the probe's 0.25 s sleep: it wakes >= 0.55 s late.
        time.sleep(0.8)  # noqa: ASYNC251 - the blocked loop under test
        await eventually(lambda: (stream.stats().loop_lag or 0) >= 0.5, timeout=3)
        stats = stream.stats()
        assert stats.rss_bytes is not None
        assert stats.rss_bytes > 1e6
        assert stats.open_fds is not None
        assert stats.open_fds > 2
        summary = stats.summary()
        for key in ("rss_mb=", "cpu_pct=", "fds=", "loop_lag_ms="):
            assert key in summary
        assert "loop_lag_ms=-" not in summary


async def test_loop_lag_alert_fires_when_the_loop_is_blocked(sim: Simulator) -> None:
    rules = AlertRules().with_settings(["loop_lag_ms=100", "cpu_percent=off", "no_data=off"])
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=rules, interval=0.1) as exporter,
    ):
        await eventually(lambda: stream.stats().loop_lag is not None, timeout=5)
        time.sleep(0.8)  # noqa: ASYNC251 - the blocked loop under test
        await eventually(lambda: "loop_lag_ms" in exporter.monitor.engine.firing, timeout=3)
        _, samples = await scrape(exporter.url)
        assert value(samples, "upbitws_event_loop_lag_seconds") >= 0.5
        assert value(samples, "upbitws_alerts_firing", alert="loop_lag_ms") == 1.0


async def test_missing_extra_is_an_explanatory_error(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    async with upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream:
        with pytest.raises(upbitws.MissingExtraError, match=r"pip install 'upbitws\[metrics\]'"):
            serve(stream, port=0)


async def test_a_taken_port_is_one_line_naming_it(sim: Simulator) -> None:
    async with (
        upbitws.connect(SUBS, url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=QUIET) as first,
    ):
        with pytest.raises(upbitws.ConfigurationError) as info:
            async with serve(stream, port=first.port, rules=QUIET):
                pass
        message = str(info.value)
        assert f"127.0.0.1:{first.port}" in message
        assert "\n" not in message
        assert (await healthz(first.url))[0] in (200, 503)  # the first one still serves
