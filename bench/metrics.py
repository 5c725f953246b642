"""What the operations layer costs and how fast it reacts (docs/operations.md).

``main(out_dir)`` (``make bench``, or ``python bench/run.py metrics``) writes
``metrics.json`` and ``metrics.md``:

1. **Throughput, exporter off vs on, same run.** The simulator's bench feed
   (``upbitws simulate --bench-feed trade``, its own process) pushes ``COUNT`` trade frames
   per connection; an upbitws stream (float numbers, ``conflate=False``) consumes them until
   the feed's close. Runs interleave off / on / dead-webhook, ``REPEATS`` times each. "On" is
   ``upbitws.metrics.serve`` with its alert monitor (1 s) and a scraper thread fetching
   ``/metrics`` every ``SCRAPE_EVERY`` s (15x Prometheus' default rate), so every scrape's
   cost lands inside the measured run. "Dead-webhook" adds an alert that fires at once and
   a webhook on a port nobody listens on, retried through the run. Wall-clock msgs/s and
   msgs per CPU-second of this process (less sensitive to other jobs on the machine).
2. **Exporter memory**: RSS before and after starting the exporter and 50 scrapes of a live
   stream, the Python heap it allocated (tracemalloc, net), and the size and render time of
   one scrape.
3. **Alert timings** against the real simulator with the default 1 s monitor interval: fault
   → AlertRaised seen by the consumer, recovery → AlertResolved, for ``no_data`` and
   ``disconnected`` at a 1 s threshold; ``/healthz`` 503 after a half-open fault (pong_timeout
   1 s); webhook delivery (raise → loopback receiver); ``loop_lag_ms`` after a blocked loop.

``UPBITWS_BENCH_SCALE`` scales ``COUNT`` (default 1: 300k frames per run).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

import upbitws
from upbitws import AlertRaised, AlertResolved, BackoffPolicy, Disconnected, Trade
from upbitws.client.process import rss_bytes
from upbitws.metrics import AlertRules, monitor, serve
from upbitws.protocol.alerts import AlertEngine, Observation
from upbitws.protocol.latency import LatencyRecorder
from upbitws.simulator import Simulator

SCALE = float(os.environ.get("UPBITWS_BENCH_SCALE", "1"))
COUNT = max(20_000, int(300_000 * SCALE))
REPEATS = 5
MODES = ("off", "on", "dead-webhook")
SCRAPE_EVERY = 1.0
TIMING_REPEATS = 5
MODES = ("off", "on", "dead-webhook")
FAST: dict[str, Any] = {
    "ping_interval": 0.5,
    "pong_timeout": 1.0,
    "backoff": BackoffPolicy(initial=0.05, maximum=0.3, stable_after=5.0),
    "include_events": True,
}
EXPORTER_FILES = (
    "prometheus_client",
    "aiohttp",
    "upbitws/metrics",
    "upbitws/protocol/alerts",
    "upbitws/protocol/latency",
)
ALL_OFF = AlertRules(**dict.fromkeys(upbitws.metrics.ALERT_NAMES))


# -- 1. throughput --------------------------------------------------------------------------


class Scraper(threading.Thread):
    """Fetches ``url`` every ``every`` seconds until stopped (a thread: its own client-side
    work stays off the measured event loop; the exporter's work stays on it)."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.stop = threading.Event()
        self.scrapes = 0
        self.bytes = 0

    def run(self) -> None:
        while not self.stop.wait(self.every):
            with urllib.request.urlopen(self.url, timeout=5) as r:
                self.bytes = len(r.read())
            self.scrapes += 1


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def consume(stream: upbitws.Stream) -> tuple[int, float, float]:
    """Trades until the feed's close: (messages, wall seconds, CPU seconds), both measured
    from the first trade to the close, so setup and teardown stay out of the figures."""
    messages = 0
    first = cpu0 = 0.0
    async for item in stream:
        if type(item) is Trade:
            if not messages:
                first, cpu0 = time.perf_counter(), time.process_time()
            messages += 1
        elif type(item) is Disconnected:
            break
    return messages, time.perf_counter() - first, time.process_time() - cpu0


async def one_run(url: str, mode: str) -> dict[str, Any]:
    scraper: Scraper | None = None
    async with upbitws.connect(
        [upbitws.trade("KRW-BTC")],
        url=url,
        numbers="float",
        conflate=False,
        include_events=True,
        backfill=False,
    ) as stream:
        if mode == "off":
            messages, seconds, cpu = await consume(stream)
        else:
            # "dead-webhook": an alert fires at once (rss_mb=1) and its delivery to a port
            # nobody listens on keeps failing and retrying during the whole run.
            dead = mode == "dead-webhook"
            async with serve(
                stream,
                port=0,
                rules=AlertRules(rss_mb=1) if dead else None,
                webhook=dead_url() if dead else None,
            ) as exp:
                scraper = Scraper(exp.url + "/metrics", SCRAPE_EVERY)
                scraper.start()
                try:
                    messages, seconds, cpu = await consume(stream)
                finally:
                    scraper.stop.set()
                    await asyncio.to_thread(scraper.join)
    return {
        "mode": mode,
        "messages": messages,
        "seconds": round(seconds, 4),
        "rate": round(messages / seconds),
        "per_cpu_second": round(messages / cpu),
        "scrapes": scraper.scrapes if scraper else 0,
        "scrape_bytes": scraper.bytes if scraper else 0,
    }


def start_feed(count: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "upbitws",
            "simulate",
            "--port",
            "0",
            "--bench-feed",
            "trade",
            "--bench-count",
            str(count),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    base = line.rsplit(" ", 1)[-1]
    if not base.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"bench feed did not start: {line!r}")
    return proc, base.replace("http://", "ws://") + "/websocket/v1"


async def throughput() -> list[dict[str, Any]]:
    proc, url = start_feed(COUNT)
    try:
        runs = []
        await one_run(url, "off")  # warm-up (imports, caches); not reported
        for _ in range(REPEATS):
            for mode in MODES:
                gc.collect()
                runs.append(await one_run(url, mode))
                print(f"  {mode:>12}: {runs[-1]['rate']:,} msgs/s")
        return runs
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


# -- 2. memory ------------------------------------------------------------------------------


async def _scrapes(url: str, n: int) -> tuple[int, list[float]]:
    times: list[float] = []
    size = 0
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            t0 = time.perf_counter()
            async with session.get(url + "/metrics") as r:
                size = len(await r.read())
            times.append(time.perf_counter() - t0)
    return size, times


def engine_steady_state_kib() -> float:
    """The alert engine after 15 min of 1 s observations (its windows full: a minute of the
    ~370-bucket latency histogram, 10 min of counters), fake time, tracemalloc."""
    recorder = LatencyRecorder()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    engine = AlertEngine(AlertRules(), 0.0)
    for t in range(900):
        for ms in (3.0, 10.0 + t % 50, 80.0):
            recorder.record(ms)
        engine.observe(
            float(t),
            Observation(
                endpoints={"public": True},
                received={"trade": t * 10, "ticker": t * 5},
                watched=frozenset({"trade", "ticker"}),
                reconnects=t // 100,
                latency=recorder.buckets(),
                rss_bytes=50 * 2**20,
                cpu_seconds=t * 0.05,
                loop_lag=0.001,
            ),
        )
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(st.size_diff for st in after.compare_to(before, "filename"))
    del engine
    return round(size / 1024, 1)


async def memory() -> dict[str, Any]:
    """Run first, in a process that has not imported prometheus-client yet: the RSS delta
    includes importing it, as a user's process pays it."""
    assert "prometheus_client" not in sys.modules
    async with simulator() as sim, upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url) as s:
        await asyncio.sleep(1.0)
        gc.collect()
        rss_before = rss_bytes() or 0
        async with serve(s, port=0) as exp:
            size, times = await _scrapes(exp.url, 50)
            gc.collect()
            rss_after = rss_bytes() or 0
        # The exporter's own Python objects, imports done (tracemalloc, net of a second run).
        gc.collect()
        tracemalloc.start()
        heap_before = tracemalloc.take_snapshot()
        async with serve(s, port=0) as exp:
            await _scrapes(exp.url, 50)
            gc.collect()
            heap_after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    # Net Python heap of the exporter's code (not the stream's queued messages or the
    # simulator sharing this process).
    heap = sum(
        st.size_diff
        for st in heap_after.compare_to(heap_before, "filename")
        if any(part in str(st.traceback) for part in EXPORTER_FILES)
    )
    return {
        "engine_steady_kib": engine_steady_state_kib(),
        "rss_delta_mib": round((rss_after - rss_before) / 2**20, 2),
        "heap_net_kib": round(heap / 1024, 1),
        "scrape_bytes": size,
        "scrape_ms_median": round(statistics.median(times) * 1000, 2),
        "scrape_ms_max": round(max(times) * 1000, 2),
    }


# -- 3. alert timings -----------------------------------------------------------------------


class _Sims:
    def __init__(self) -> None:
        self.sim = Simulator(markets=["KRW-BTC"], trade_rate=5.0)

    async def __aenter__(self) -> Simulator:
        await self.sim.start()
        return self.sim

    async def __aexit__(self, *exc: object) -> None:
        await self.sim.aclose()


def simulator() -> _Sims:
    return _Sims()


async def _wait(check: Any, timeout: float = 15.0) -> float:  # noqa: ASYNC109
    """Poll ``check`` (sync or async) every 10 ms; return the monotonic time it held."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def _alert_cycle(name: str, fault: str) -> dict[str, float]:
    rules = ALL_OFF.with_settings([f"{name}=1"])
    received: list[tuple[float, str]] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append((time.monotonic(), body["status"]))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    seen: list[tuple[float, Any]] = []
    try:
        async with (
            simulator() as sim,
            upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
            monitor(stream, rules, webhook=hook_url),
        ):

            async def consume() -> None:
                async for item in stream:
                    seen.append((time.monotonic(), item))  # noqa: PERF401 - watched live

            async with asyncio.TaskGroup() as group:
                task = group.create_task(consume())
                await _wait(lambda: any(isinstance(i, Trade) for _, i in seen))
                # The 1 s monitor has seen the stream healthy; then a fault at a random phase
                # of its tick (a fixed phase would make every run measure the same case).
                await asyncio.sleep(1.2 + random.random())
                if fault == "silence":
                    sim.apply_fault("silence")
                else:
                    sim.apply_fault("reject_upgrade", status=429, retry_after=0)
                    sim.apply_fault("drop")
                t_fault = time.monotonic()
                t_raise = await _wait(lambda: any(isinstance(i, AlertRaised) for _, i in seen))
                t_raise = next(t for t, i in seen if isinstance(i, AlertRaised))
                await asyncio.sleep(random.random())
                sim.clear_faults()
                t_clear = time.monotonic()
                await _wait(lambda: any(isinstance(i, AlertResolved) for _, i in seen))
                t_resolve = next(t for t, i in seen if isinstance(i, AlertResolved))
                await _wait(lambda: len(received) >= 2)
                task.cancel()
    finally:
        await runner.cleanup()
    return {
        "raise_after_fault_s": round(t_raise - t_fault, 3),
        "resolve_after_recovery_s": round(t_resolve - t_clear, 3),
        "webhook_after_raise_s": round(received[0][0] - t_raise, 4),
    }


async def _healthz_cycle() -> dict[str, float]:
    async with (
        simulator() as sim,
        upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=ALL_OFF) as exp,
        aiohttp.ClientSession() as session,
    ):

        async def status() -> int:
            async with session.get(exp.url + "/healthz") as r:
                return r.status

        await _wait(lambda: stream.stats().received.get("trade", 0) > 0)
        await _wait(lambda: _is(status(), 200))
        sim.apply_fault("reject_upgrade", status=429, retry_after=0)
        sim.apply_fault("half_open")
        t0 = time.monotonic()
        t503 = await _wait(lambda: _is(status(), 503))
        sim.clear_faults()
        t1 = time.monotonic()
        t200 = await _wait(lambda: _is(status(), 200))
    return {
        "503_after_half_open_s": round(t503 - t0, 3),
        "200_after_recovery_s": round(t200 - t1, 3),
    }


async def _is(coro: Any, wanted: int) -> bool:
    return bool(await coro == wanted)


async def _loop_lag_cycle() -> dict[str, float]:
    rules = ALL_OFF.with_settings(["loop_lag_ms=200"])
    async with (
        simulator() as sim,
        upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
        monitor(stream, rules) as mon,
    ):
        await _wait(lambda: stream.stats().loop_lag is not None)
        t0 = time.monotonic()
        time.sleep(1.0)  # noqa: ASYNC251 - the blocked loop being measured
        t1 = await _wait(lambda: "loop_lag_ms" in mon.engine.firing)
    return {"raise_after_block_start_s": round(t1 - t0, 3)}


async def timings() -> dict[str, Any]:
    out: dict[str, list[dict[str, float]]] = {
        "no_data": [],
        "disconnected": [],
        "healthz": [],
        "loop_lag_ms": [],
    }
    for _ in range(TIMING_REPEATS):
        out["no_data"].append(await _alert_cycle("no_data", "silence"))
        out["disconnected"].append(await _alert_cycle("disconnected", "drop"))
        out["healthz"].append(await _healthz_cycle())
        out["loop_lag_ms"].append(await _loop_lag_cycle())
    return {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} | {"runs": runs}
        for name, runs in out.items()
    }


# -- report ---------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    runs = result["throughput"]
    off = [r["rate"] for r in runs if r["mode"] == "off"]
    on = [r["rate"] for r in runs if r["mode"] == "on"]
    dead = [r["rate"] for r in runs if r["mode"] == "dead-webhook"]
    dead_cpu = [r["per_cpu_second"] for r in runs if r["mode"] == "dead-webhook"]
    mem = result["memory"]
    t = result["timings"]
    ratio = statistics.median(on) / statistics.median(off)
    off_cpu = [r["per_cpu_second"] for r in runs if r["mode"] == "off"]
    on_cpu = [r["per_cpu_second"] for r in runs if r["mode"] == "on"]
    pair_dead = statistics.median(b / a for a, b in zip(off, dead, strict=True))
    pair = statistics.median(b / a for a, b in zip(off, on, strict=True))
    pair_cpu = statistics.median(b / a for a, b in zip(off_cpu, on_cpu, strict=True))
    lines = [
        "# Operations layer: cost and reaction times",
        "",
        f"`python bench/run.py metrics` on {result['machine']}; {COUNT:,} trade frames per run "
        f"from the simulator's bench feed (own process), float numbers, `conflate=False`.",
        "",
        "## Throughput, exporter off vs on (same run, interleaved)",
        "",
        "| exporter | median msgs/s | median msgs per CPU-second | runs (msgs/s) |",
        "|---|---|---|---|",
        f"| off | {statistics.median(off):,.0f} | {statistics.median(off_cpu):,.0f} | "
        f"{', '.join(f'{r:,}' for r in off)} |",
        f"| on (serve + monitor, scraped every {SCRAPE_EVERY:g} s) | "
        f"{statistics.median(on):,.0f} | {statistics.median(on_cpu):,.0f} | "
        f"{', '.join(f'{r:,}' for r in on)} |",
        f"| on, an alert firing, webhook unreachable (retrying) | "
        f"{statistics.median(dead):,.0f} | {statistics.median(dead_cpu):,.0f} | "
        f"{', '.join(f'{r:,}' for r in dead)} |",
        "",
        f"On/off, median of the per-pair ratios: **{pair:.3f}** msgs/s, **{pair_cpu:.3f}** msgs "
        f"per CPU-second (ratio of medians: {ratio:.3f}); dead webhook/off: "
        f"**{pair_dead:.3f}** msgs/s. The exporter adds no per-message "
        "work; what it adds is the monitor's 1 s tick and one scrape per second "
        f"({mem['scrape_ms_median']} ms each, below). The "
        "spread between runs is the shared 2-core machine (other jobs running), not the "
        "exporter: compare the per-run figures.",
        "",
        "## Exporter memory (live stream, exporter started, 50 scrapes)",
        "",
        f"- RSS delta: {mem['rss_delta_mib']} MiB (importing prometheus-client included); "
        f"net Python heap of the exporter's code, alert windows included (tracemalloc): "
        f"{mem['heap_net_kib']} KiB (50 scrapes within a second share one window sample)",
        f"- the alert engine in steady state (windows full: 15 min of 1 s observations, fake "
        f"time; tracemalloc): {mem['engine_steady_kib']} KiB",
        f"- one scrape: {mem['scrape_bytes']:,} bytes, median {mem['scrape_ms_median']} ms "
        f"(max {mem['scrape_ms_max']} ms) on loopback, render included",
        "",
        f"## Alert timings (median of {TIMING_REPEATS}; monitor interval 1 s)",
        "",
        "| what | threshold | measured |",
        "|---|---|---|",
        f"| `no_data`: silence → AlertRaised at the consumer | 1 s | "
        f"{t['no_data']['raise_after_fault_s']} s |",
        f"| `no_data`: data back → AlertResolved | — | "
        f"{t['no_data']['resolve_after_recovery_s']} s |",
        f"| `disconnected`: drop (reconnects refused) → AlertRaised | 1 s | "
        f"{t['disconnected']['raise_after_fault_s']} s |",
        f"| `disconnected`: reconnects allowed → AlertResolved | — | "
        f"{t['disconnected']['resolve_after_recovery_s']} s |",
        f"| webhook: AlertRaised → POST received (loopback) | — | "
        f"{t['no_data']['webhook_after_raise_s']} s |",
        f"| `/healthz` 503 after half-open (pong_timeout 1 s, ping 0.5 s) | ≤ 2 s | "
        f"{t['healthz']['503_after_half_open_s']} s |",
        f"| `/healthz` 200 after recovery | — | {t['healthz']['200_after_recovery_s']} s |",
        f"| `loop_lag_ms` (200 ms) after a 1 s blocked loop starts | — | "
        f"{t['loop_lag_ms']['raise_after_block_start_s']} s |",
        "",
    ]
    return "\n".join(lines)


async def run_all() -> dict[str, Any]:
    print("metrics bench: memory")
    mem = await memory()
    print("metrics bench: throughput")
    tp = await throughput()
    print("metrics bench: alert timings")
    tim = await timings()
    return {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "count": COUNT,
        "throughput": tp,
        "memory": mem,
        "timings": tim,
    }


def main(out_dir: Path) -> None:
    result = asyncio.run(run_all())
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = report(result)
    (out_dir / "metrics.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results")
