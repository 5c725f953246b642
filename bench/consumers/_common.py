"""What every consumer shares: arguments, a meter, a hard deadline, one JSON line out.

Each consumer script (one per client, each run in its own process by ``bench/peers.py``)
connects to the bench feed at ``--url``, takes messages the way that client's users do, and
prints one JSON object on stdout:

``messages`` (delivered to the consumer's code), ``wall_s`` (first message to the end),
``cpu_s`` (user+sys over the same span, ``resource.getrusage``), ``peak_rss_mb``
(``ru_maxrss``), ``end`` (``close`` | ``count`` | ``idle`` | ``timeout``) and, with
``--mode lat``, ``latency_us``: the send time the feed embeds in each trade's
``sequential_id`` (``send_us * 100 + k``) against the wall clock in µs when the message
reaches the consumer's code, summarised as percentiles.

The meter's hot path is ``tick()`` (one call per delivered message, the same for every
consumer); latency mode adds one ``time.time_ns()`` and one ``array.append`` per trade.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time
from array import array
from typing import Any

__all__ = ["Meter", "parse_args", "run_async", "sid_from_bytes", "upbit_request"]

_SID_KEY = b'"sequential_id":'
_SID_SIMPLE_KEY = b'"sid":'


def parse_args(argv: list[str] | None = None, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/websocket/v1")
    parser.add_argument("--rest", default="", help="HTTP root serving /v1/market/all")
    parser.add_argument("--feed", default="trade", choices=["trade", "ticker", "orderbook", "mix"])
    parser.add_argument("--mode", default="sat", choices=["sat", "lat"])
    parser.add_argument("--count", type=int, required=True, help="frames the feed sends")
    parser.add_argument("--timeout", type=float, default=60.0, help="hard deadline, seconds")
    parser.add_argument("--idle", type=float, default=3.0, help="end after this much silence")
    parser.add_argument("--rss-every", type=int, default=0, help="sample RSS every N messages")
    parser.add_argument("--profile", default="", help="cProfile from the first message to the end")
    for name, kwargs in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", **kwargs)
    return parser.parse_args(argv)


def sid_from_bytes(data: bytes) -> int:
    """``sequential_id`` out of a raw DEFAULT (or SIMPLE) trade frame, without parsing JSON."""
    i = data.find(_SID_KEY)
    if i >= 0:
        i += len(_SID_KEY)
    else:
        i = data.index(_SID_SIMPLE_KEY) + len(_SID_SIMPLE_KEY)
    j = i
    while data[j] in b" 0123456789":
        j += 1
    return int(data[i:j])


def _rss_mb() -> float:
    with open("/proc/self/statm", "rb") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _cpu(children: bool) -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    total = ru.ru_utime + ru.ru_stime
    if children:
        rc = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += rc.ru_utime + rc.ru_stime
    return total


class _Deadline(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Deadline


class Meter:
    """Counts messages, times the span from the first to the last, samples latency."""

    def __init__(self, name: str, args: argparse.Namespace, *, children: bool = False) -> None:
        self.name = name
        self.args = args
        self.children = children  # add reaped child processes' CPU (pyupbit's reader process)
        self.count = 0
        self.latency = array("q")
        self.lat = args.mode == "lat"
        self.rss_every = args.rss_every
        self.rss_samples: list[tuple[int, float]] = []
        self.t_first = 0.0
        self.t_last = 0.0
        self.cpu_first = 0.0
        self.end = "timeout"
        self.notes: dict[str, Any] = {}
        self.profiler: Any = None
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, args.timeout)

    Deadline = _Deadline

    def tick(self) -> None:
        """One message reached the consumer's code."""
        self.count += 1
        if self.count == 1:
            self.t_first = time.perf_counter()
            self.cpu_first = _cpu(False)
            if self.args.profile:
                import cProfile

                self.profiler = cProfile.Profile()
                self.profiler.enable()
            if self.rss_every:
                self.rss_samples.append((0, _rss_mb()))
        elif self.rss_every and self.count % self.rss_every == 0:
            self.rss_samples.append((self.count, _rss_mb()))
        self.t_last = time.perf_counter()

    def sample(self, sid: int) -> None:
        """Latency of one trade whose ``sequential_id`` is ``sid`` (call after tick)."""
        self.latency.append(time.time_ns() // 1000 - sid // 100)

    def idle_for(self) -> float:
        return time.perf_counter() - self.t_last if self.count else 0.0

    def report(self, end: str | None = None) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(self.args.profile)
        if end is not None:
            self.end = end
        cpu = _cpu(self.children) - self.cpu_first
        ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if self.children:
            ru = max(ru, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        out: dict[str, Any] = {
            "consumer": self.name,
            "feed": self.args.feed,
            "mode": self.args.mode,
            "frames": self.args.count,
            "messages": self.count,
            "wall_s": self.t_last - self.t_first,
            "cpu_s": cpu,
            "peak_rss_mb": ru / 1024.0,
            "end": self.end,
            **self.notes,
        }
        if self.lat:
            out["latency_us"] = summarize(self.latency)
        if self.rss_samples:
            out["rss_samples"] = self.rss_samples
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


def summarize(samples: array) -> dict[str, float]:
    """Percentiles of the latency samples after a 5% warm-up (connect, first batches)."""
    values = sorted(samples[len(samples) // 20 :])
    if not values:
        return {"n": 0}
    n = len(values)

    def pct(p: float) -> float:
        return float(values[min(n - 1, round(p / 100 * (n - 1)))])

    return {
        "n": n,
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "p999": pct(99.9),
        "max": float(values[-1]),
        "mean": sum(values) / n,
    }


def run_async(meter: Meter, main: Any) -> None:
    """Run ``main()`` (a coroutine function returning the end reason) under the meter's
    deadline and an idle watchdog (for clients that hide the server's close), then report."""
    import asyncio
    import contextlib

    async def supervise() -> str:
        task = asyncio.ensure_future(main())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                if not task.done() and meter.count and meter.idle_for() > meter.args.idle:
                    return "idle"
            return str(task.result() or "close")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):  # the client's own teardown noise
                    await task

    try:
        end = asyncio.run(supervise())
    except Meter.Deadline:
        end = "timeout"
    meter.report(end)


#: The request each consumer sends: the bench feed answers any subscribe request.
def upbit_request(feed: str, code: str = "KRW-BTC") -> str:
    types = ["trade", "ticker", "orderbook"] if feed == "mix" else [feed]
    objects: list[dict[str, Any]] = [{"ticket": "bench"}]
    objects += [{"type": t, "codes": [code], "is_only_realtime": True} for t in types]
    return json.dumps(objects)
