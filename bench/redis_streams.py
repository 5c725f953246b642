"""Redis Streams: what one collector writes, how late, and what it costs in Redis memory.

* **Throughput**: one ``Collector`` (this process) against the simulator's benchmark trade
  feed at saturation (``upbitws simulate --bench-feed trade``, its own process) and a real
  ``redis-server``: trades appended per second (fenced, deduplicated, pipelined).
* **Latency** at a fixed feed rate: receipt (the collector's ``rt`` stamp) → the append
  acknowledged by Redis; and the feed's send time (stamped in the bench ``sequential_id``)
  → a ``upbitws.redis.subscribe`` consumer, an upper bound of receipt → reader.
* **Memory**: Redis ``used_memory`` growth per million trade entries (no trimming), with the
  stream's own ``MEMORY USAGE`` and the mean encoded message size.

``main(out_dir)`` writes ``redis_streams.json`` and ``redis_streams.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from upbitws.redis import Collector, subscribe
from upbitws.redis.keys import GroupKeys

SCALE = float(os.environ.get("UPBITWS_BENCH_SCALE", "1"))
SATURATION_COUNT = int(200_000 * SCALE)
LATENCY_RATE = 2_000
LATENCY_COUNT = int(10_000 * SCALE)
MARKETS_SECONDS = max(3.0, 10.0 * SCALE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server missing: apt-get update && apt-get install -y redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.025)
    proc.kill()
    raise SystemExit("redis-server did not start")


async def _start_feed(rate: float, count: int) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    command = ["-m", "upbitws", "simulate", "--port", str(port), "--bench-feed", "trade"]
    command += ["--bench-rate", str(rate), "--bench-count", str(count)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if b"listening" not in line:
        proc.kill()
        raise SystemExit(f"bench feed did not start: {line!r}")
    return proc, f"ws://127.0.0.1:{port}/websocket/v1"


async def _stop_feed(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _until_quiet(collector: Collector, target: int, limit: float) -> tuple[float, float, int]:
    """Wait until ``target`` are written (or writing stalls): the times of the first and the
    last write seen, and how many were written by the last."""
    first = last = 0.0
    seen = 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        written = collector.stats.written
        now = time.monotonic()
        if written and not first:
            first = now
        if written != seen:
            seen, last = written, now
        if written >= target or (first and now - last > 2.0):
            break
    return first, last, seen


async def _saturation(redis_url: str) -> dict[str, Any]:
    feed, ws_url = await _start_feed(0, SATURATION_COUNT + 10_000)
    try:
        collector = Collector(
            redis_url,
            group="sat",
            markets=["KRW-BTC"],
            types=["trade"],
            shards=1,
            url=ws_url,
            maxlen=0,
        )
        client = aioredis.Redis.from_url(redis_url)
        before = (await client.info("memory"))["used_memory"]
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(collector.run(stop))
            first, last, counted = await _until_quiet(collector, SATURATION_COUNT, 120)
            stop.set()
        keys = GroupKeys("sat", 1)
        stream = keys.stream("trade", "KRW-BTC")
        entries = await client.xlen(stream)
        after = (await client.info("memory"))["used_memory"]
        stream_bytes = await client.memory_usage(stream, samples=0)
        sample = await client.xrange(stream, count=1000)
        await client.aclose()
    finally:
        await _stop_feed(feed)
    s = collector.stats
    # The first write marks the start; count what followed it.
    return {
        "written": s.written,
        "batches": s.batches,
        "seconds": last - first,
        "msgs_per_s": counted / (last - first) if last > first else 0.0,
        "entries": entries,
        "used_memory_delta": after - before,
        "mb_per_million_entries": (after - before) / entries * 1e6 / 1e6,
        "stream_mb_per_million_entries": stream_bytes / entries,
        "mean_message_bytes": statistics.mean(len(f[b"m"]) for _i, f in sample),
        "mean_entry_field_bytes": statistics.mean(
            sum(len(k) + len(v) for k, v in f.items()) for _i, f in sample
        ),
    }


async def _latency(redis_url: str) -> dict[str, Any]:
    reader_lat: list[float] = []
    client = aioredis.Redis.from_url(redis_url)
    await client.hset(GroupKeys("lat", 1).config, "shards", 1)  # so the reader can start first
    await client.aclose()
    sub = subscribe(
        redis_url,
        group="lat",
        types=["trade"],
        codes=["KRW-BTC"],
        consumer_group="bench",
        consumer="r",
    )
    collector = Collector(
        redis_url,
        group="lat",
        markets=["KRW-BTC"],
        types=["trade"],
        shards=1,
        url="",
        maxlen=0,
        latency_samples=LATENCY_COUNT,
    )
    stop = asyncio.Event()

    async def read() -> None:
        async for trade in sub:
            reader_lat.append(time.time() - trade.sequential_id // 100 / 1e6)

    async with sub:
        feed, ws_url = await _start_feed(LATENCY_RATE, LATENCY_COUNT + 2 * LATENCY_RATE)
        collector.url = ws_url
        try:
            async with asyncio.TaskGroup() as tasks:
                reading = tasks.create_task(read())
                tasks.create_task(collector.run(stop))
                await _until_quiet(collector, LATENCY_COUNT, 60)
                await asyncio.sleep(0.5)
                reading.cancel()
                stop.set()
        finally:
            await _stop_feed(feed)
    write_lat = collector.stats.latencies[200:]  # after the start-up burst
    reader_lat = reader_lat[200:LATENCY_COUNT]
    return {
        "rate": LATENCY_RATE,
        "samples_write": len(write_lat),
        "samples_reader": len(reader_lat),
        "write_p50_ms": _pct(write_lat, 0.5) * 1000,
        "write_p99_ms": _pct(write_lat, 0.99) * 1000,
        "reader_p50_ms": _pct(reader_lat, 0.5) * 1000,
        "reader_p99_ms": _pct(reader_lat, 0.99) * 1000,
        "batches": collector.stats.batches,
    }


async def _markets(redis_url: str) -> dict[str, Any]:
    """Every KRW market of the simulator's catalog (35), trades and tickers, at 20x its model
    rates: what one collector costs per message across many markets."""
    from upbitws.simulator.catalog import _all_specs

    codes = sorted(c for c in _all_specs() if c.startswith("KRW-"))
    port = _free_port()
    command = ["-m", "upbitws", "simulate", "--port", str(port), "--rate", "20"]
    command += ["--markets", ",".join(codes)]
    sim = await asyncio.create_subprocess_exec(
        sys.executable, *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert sim.stdout is not None
    await asyncio.wait_for(sim.stdout.readline(), 30)
    collector = Collector(
        redis_url,
        group="mkts",
        markets=codes,
        types=["trade", "ticker"],
        shards=16,
        url=f"ws://127.0.0.1:{port}/websocket/v1",
        latency_samples=200_000,
    )
    stop = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(collector.run(stop))
            await asyncio.sleep(3.0)  # leases taken, subscribed
            written0, cpu0, t0 = collector.stats.written, time.process_time(), time.monotonic()
            await asyncio.sleep(MARKETS_SECONDS)
            written1, cpu1, t1 = collector.stats.written, time.process_time(), time.monotonic()
            stop.set()
    finally:
        await _stop_feed(sim)
    n = written1 - written0
    lat = collector.stats.latencies[2000:]
    return {
        "markets": len(codes),
        "seconds": t1 - t0,
        "msgs_per_s": n / (t1 - t0),
        # The process's CPU (collector, its stream and the redis-py client; not Redis, not
        # the simulator, which run in their own processes).
        "cpu_us_per_msg": (cpu1 - cpu0) / n * 1e6 if n else 0.0,
        "write_p50_ms": _pct(lat, 0.5) * 1000 if lat else 0.0,
        "write_p99_ms": _pct(lat, 0.99) * 1000 if lat else 0.0,
    }


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start_redis(tmp)
        try:
            sat = asyncio.run(asyncio.wait_for(_saturation(url), 300))
            lat = asyncio.run(asyncio.wait_for(_latency(url), 300))
            mkts = asyncio.run(asyncio.wait_for(_markets(url), 300))
        finally:
            proc.terminate()
            proc.wait(10)
    version = (
        subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=False)
        .stdout.split()[2]
        .removeprefix("v=")
    )
    result = {
        "saturation": sat,
        "latency": lat,
        "markets": mkts,
        "redis": version,
        "scale": SCALE,
    }
    (out_dir / "redis_streams.json").write_text(json.dumps(result, indent=2) + "\n")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rate = f"@ {lat['rate']:,} msgs/s"
    rows = [
        ("trades appended per second, one collector, saturation", f"{sat['msgs_per_s']:,.0f}"),
        (
            "trades appended in the run / pipelined batches",
            f"{sat['written']:,} / {sat['batches']:,}",
        ),
        (
            f"receipt → acknowledged write, p50 / p99 {rate}",
            f"{lat['write_p50_ms']:.2f} ms / {lat['write_p99_ms']:.2f} ms",
        ),
        (
            f"feed send → `subscribe` consumer, p50 / p99 {rate}",
            f"{lat['reader_p50_ms']:.2f} ms / {lat['reader_p99_ms']:.2f} ms",
        ),
        (
            f"{mkts['markets']} KRW markets, trade + ticker: msgs/s written (simulator at 20x)",
            f"{mkts['msgs_per_s']:,.0f}",
        ),
        (
            "… collector process CPU per message (decode, encode, pipelined append)",
            f"{mkts['cpu_us_per_msg']:.0f} µs",
        ),
        (
            "… receipt → acknowledged write, p50 / p99",
            f"{mkts['write_p50_ms']:.2f} ms / {mkts['write_p99_ms']:.2f} ms",
        ),
        (
            "Redis memory per million trade entries (used_memory)",
            f"{sat['mb_per_million_entries']:,.0f} MB",
        ),
        (
            "the stream alone (MEMORY USAGE) per million entries",
            f"{sat['stream_mb_per_million_entries']:,.0f} MB",
        ),
        (
            "encoded trade message (`m`) / all fields of an entry",
            f"{sat['mean_message_bytes']:.0f} B / {sat['mean_entry_field_bytes']:.0f} B",
        ),
    ]
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    md = (
        "# Redis Streams collector (docs/scale-out.md)\n\n"
        f"Generated by `make bench` (`bench/redis_streams.py`) on {when}; redis-server "
        f"{version} (Debian package), loopback, 2 CPU cores shared with other work. One collector "
        "process, exact (Decimal) numbers; saturation and latency rows: one market (the "
        "simulator's benchmark trade feed); the 35-market rows: the simulator. Scale "
        f"{SCALE}.\n\n| figure | value |\n|---|---|\n{table}\n"
    )
    (out_dir / "redis_streams.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
