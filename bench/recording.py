"""Recording: what it costs the live stream, its size on disk, replay and export rates.

One run, interleaved: a benchmark server (``upbitws simulate --bench-feed trade``, its own
process, so its CPU is not the client's) sends ``COUNT`` trade frames per connection as fast
as the socket takes them, then closes. Each repeat consumes one connection with recording
off (``upbitws.connect`` → ``async for``) and one with recording on (the same stream wrapped
in a ``Recorder``, its consumer iterating the recorder), in turn, so drift hits both alike.

* **throughput on / off** — messages per second from the first message to the server's
  close, medians over the repeats; goal: on ≥ 0.85x off. "incl. close" also counts the
  final write of what the recorder still held (if compression fell behind, it shows there);
* **bytes per message** — compressed bytes on disk / messages recorded (frames, delivery
  markers, events, requests, headers included);
* **replay** — ``upbitws.replay(dir)`` as fast as possible (frames decoded again, markers
  resolved), messages per second; goal: ≥ the live client's rate (recording off);
* **export** — ``upbitws export --to parquet`` rows per second.

    python bench/recording.py            # UPBITWS_BENCH_SCALE=0.2 for a quick run
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import upbitws
from upbitws import Disconnected, Trade
from upbitws.recording import Recorder, replay
from upbitws.recording.export import to_parquet

SCALE = float(os.environ.get("UPBITWS_BENCH_SCALE", "1"))
COUNT = max(10_000, int(200_000 * SCALE))
REPEATS = 5 if SCALE >= 1 else 3


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "upbitws", "simulate", "--port", "0",
            "--bench-feed", "trade", "--bench-count", str(COUNT),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.split()[-1].replace("http://", "ws://") + "/websocket/v1"
    return proc, url


async def _consume(url: str, out: Path | None) -> dict[str, float]:
    stream = upbitws.connect(
        [upbitws.trade("KRW-BTC")], url=url, include_events=True, backfill=False
    )
    n = 0
    first = 0.0
    cpu = 0.0
    loop_cpu = 0.0
    source: Any = stream if out is None else Recorder(stream, out)
    async with source:
        async for item in source:
            cls = type(item)
            if cls is Trade:
                if n == 0:
                    first = time.perf_counter()
                    cpu = time.process_time()
                    loop_cpu = time.thread_time()
                n += 1
            elif cls is Disconnected:
                break
        streamed = time.perf_counter() - first
        loop_cpu = time.thread_time() - loop_cpu  # the event loop's thread only
    closed = time.perf_counter() - first
    cpu = time.process_time() - cpu  # every thread: the compression worker's time included
    return {
        "messages": n,
        "rate": (n - 1) / streamed,
        "rate_incl_close": (n - 1) / closed,
        "cpu_us": cpu / (n - 1) * 1e6,
        "loop_cpu_us": loop_cpu / (n - 1) * 1e6,
    }


async def _realistic(out: Path, seconds: float = 5.0) -> tuple[int, int, int]:
    """(messages, raw bytes received, bytes on disk) for the simulator's own tape (distinct
    prices, ids, times): trade, ticker and a 15-level orderbook of two markets."""
    from upbitws.simulator import Simulator

    codes = ("KRW-BTC", "KRW-ETH")
    subs = [upbitws.trade(*codes), upbitws.ticker(*codes), upbitws.orderbook(*codes)]
    async with Simulator(seed=1, markets=list(codes), trade_rate=5.0) as sim:
        stream = upbitws.connect(subs, url=sim.ws_url, conflate=False)
        async with Recorder(stream, out) as recorder:
            try:
                async with asyncio.timeout(seconds):
                    async for _ in recorder:
                        pass
            except TimeoutError:
                pass
            stats = recorder.stats()
    return stats.frames_received, stats.bytes_received, _size(out)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir())


def main(out_dir: Path) -> None:
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="upbitws-bench-rec-"))
    proc, url = _server()
    off: list[dict[str, float]] = []
    on: list[dict[str, float]] = []
    sizes: list[float] = []
    replays: list[float] = []
    exports: list[float] = []
    try:
        for i in range(REPEATS):
            off.append(asyncio.run(_consume(url, None)))
            rec = work / f"rec{i}"
            on.append(asyncio.run(_consume(url, rec)))
            sizes.append(_size(rec) / on[-1]["messages"])
            started = time.perf_counter()
            replayed = sum(1 for _ in replay(rec))
            replays.append(replayed / (time.perf_counter() - started))
            started = time.perf_counter()
            summary = to_parquet(rec, work / f"parquet{i}")
            rows = sum(summary.rows.values())
            exports.append(rows / (time.perf_counter() - started))
            print(
                f"  repeat {i + 1}: off {off[-1]['rate']:,.0f}/s {off[-1]['cpu_us']:.2f} µs, "
                f"on {on[-1]['rate']:,.0f}/s {on[-1]['cpu_us']:.2f} µs, "
                f"{sizes[-1]:.1f} B/msg, replay {replays[-1]:,.0f}/s, export {exports[-1]:,.0f}"
                " rows/s"
            )
        frames, raw, size = asyncio.run(_realistic(work / "sim"))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    ratios = [b["rate"] / a["rate"] for a, b in zip(off, on, strict=True)]
    cpu_ratios = [a["cpu_us"] / b["cpu_us"] for a, b in zip(off, on, strict=True)]
    result = {
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "count": COUNT,
        "repeats": REPEATS,
        "off_rate": med(off, "rate"),
        "on_rate": med(on, "rate"),
        "on_rate_incl_close": med(on, "rate_incl_close"),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "cpu_us_off": med(off, "cpu_us"),
        "cpu_us_on": med(on, "cpu_us"),
        "cpu_ratio": statistics.median(cpu_ratios),
        "loop_cpu_us_off": med(off, "loop_cpu_us"),
        "loop_cpu_us_on": med(on, "loop_cpu_us"),
        "bytes_per_message": statistics.median(sizes),
        "sim_bytes_per_message": size / frames,
        "sim_messages": frames,
        "sim_compression": raw / size,
        "replay_rate": statistics.median(replays),
        "export_rows_per_s": statistics.median(exports),
    }
    (out_dir / "recording.json").write_text(json.dumps(result, indent=2) + "\n")
    r = result
    lines = [
        "# Recording: cost on the live stream, size, replay and export (bench/recording.py)",
        "",
        f"Generated by `make bench` on {r['generated']}, Python {r['python']}; trade feed "
        f"({COUNT:,} frames per connection, exact decimals, one process serving), "
        f"{REPEATS} interleaved repeats, medians. Machine: {r['cpus']} CPUs, load average "
        f"{r['load_average'][0]} → {r['load_average'][1]} during the run (other processes "
        "compete for the CPUs: the wall-clock rates and their ratio move with them; CPU time "
        "per message, all threads, is the steadier comparison).",
        "",
        "| figure | goal | value |",
        "|---|---|---|",
        f"| msgs/s, recording off |  | {r['off_rate']:,.0f} |",
        f"| msgs/s, recording on |  | {r['on_rate']:,.0f} |",
        f"| on / off | ≥ 0.85x | {r['ratio']:.2f}x ({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) |",
        f"| msgs/s on, incl. the final write |  | {r['on_rate_incl_close']:,.0f} |",
        f"| CPU µs per message, off / on (all threads) |  | {r['cpu_us_off']:.2f} / "
        f"{r['cpu_us_on']:.2f} |",
        f"| off / on CPU per message (load-independent) | ≥ 0.85x | {r['cpu_ratio']:.2f}x |",
        f"| CPU µs per message in the event loop's thread, off / on (zstd runs in a worker "
        f"thread) |  | {r['loop_cpu_us_off']:.2f} / {r['loop_cpu_us_on']:.2f} |",
        f"| bytes per message on disk, bench feed (512 distinct frames, cycled) |  | "
        f"{r['bytes_per_message']:.1f} |",
        f"| bytes per message on disk, simulator tape (trade, ticker, orderbook 15; "
        f"{r['sim_messages']:,} frames) |  | {r['sim_bytes_per_message']:.1f} "
        f"({r['sim_compression']:.1f}x smaller than the frames) |",
        f"| replay msgs/s (as fast as possible) | ≥ live ({r['off_rate']:,.0f}) "
        f"| {r['replay_rate']:,.0f} |",
        f"| export rows/s (Parquet) |  | {r['export_rows_per_s']:,.0f} |",
        "",
    ]
    (out_dir / "recording.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(__file__).resolve().parent / "results")
