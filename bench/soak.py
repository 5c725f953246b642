"""Soak: the chaos run of ``tests/client/test_backfill.py`` for longer (trade backfill).

Busy simulated markets, trades subscribed, a fault every few seconds (abrupt drops,
half-open sockets, accept-then-close, HTTP 429 with Retry-After, server close 1011, data
silence, and consumer stalls that overflow a small trade queue), then the consumer's tape is
compared with the simulator's for the same window: complete, without duplicates, in time
order, for every market.

The simulator runs in a child process (so the RSS measured is the client's alone) and is
driven over a pipe. Results go to ``bench/results/soak.md`` and ``soak.json``.

    UPBITWS_SOAK_SECONDS=600 python bench/soak.py     # make soak
    UPBITWS_SOAK_SECONDS=3600 python bench/soak.py    # long mode

Long mode (a run of ``LONG_SECONDS`` or more, or ``UPBITWS_SOAK_LONG=1``) is about leaks, not
only completeness: the fault rate goes up (a fault every ~1.6 s, so an hour gives well over
1,000 reconnects), and RSS, open file descriptors and asyncio tasks are sampled through the
run. The report gives the RSS slope over the second half of the run (a least-squares fit, in
MB per hour; a plateau is ≈ 0) and the fd / task ranges. Its results go to
``soak_long.md`` / ``soak_long.json`` so the default run's results stay beside it.

Environment: ``UPBITWS_SOAK_SECONDS`` (run length, default 600), ``UPBITWS_SOAK_MARKETS``
(default 6), ``UPBITWS_SOAK_RATE`` (trade-rate multiplier, default 1.5),
``UPBITWS_SOAK_FAULT_EVERY`` (seconds between faults, default 4, 1.6 in long mode),
``UPBITWS_SOAK_LONG`` (force long mode on/off), ``UPBITWS_SOAK_SEED``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import upbitws
from upbitws import BackoffPolicy, GapUnrecoverable, Trade
from upbitws.models.recovered import RecoveredTrade

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"
ALL_MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-USDT", "KRW-ADA"]
FAULTS = [
    "drop",
    "half_open",
    "accept_then_close",
    "stall",
    "reject_429",
    "close_1011",
    "silence",
    "drop",
    "stall",
]
STALL_SECONDS = 2.0
LONG_SECONDS = 1800.0  # a run this long is a leak hunt: long mode
LONG_FAULT_EVERY = 1.6  # ~7 of 9 faults force a reconnect: ~1,570 reconnects an hour
SAMPLE_EVERY = 10.0  # seconds between RSS / fd / task samples


# -- the simulator, in its own process ---------------------------------------------------------


def _simulator_process(pipe: Connection, seed: int, markets: list[str], rate: float) -> None:
    asyncio.run(_serve_simulator(pipe, seed, markets, rate))


async def _serve_simulator(pipe: Connection, seed: int, markets: list[str], rate: float) -> None:
    from upbitws.simulator import Simulator

    async with Simulator(
        seed=seed, markets=markets, trade_rate=rate, history_size=2_000_000
    ) as sim:
        pipe.send(sim.ws_url)
        while True:
            command, args = await asyncio.to_thread(pipe.recv)
            if command == "fault":
                for kind, fields in args:
                    sim.apply_fault(kind, **fields)
                pipe.send(None)
            elif command == "tape":
                pipe.send({c: [t.sequential_id for t in sim.trades(c)] for c in args})
            elif command == "stats":
                pipe.send(sim.stats())
            elif command == "rss":
                pipe.send(rss_mb())
            else:
                pipe.send(None)
                return


class SimulatorProcess:
    def __init__(self, seed: int, markets: list[str], rate: float) -> None:
        self._pipe, child = mp.Pipe()
        ctx = mp.get_context("spawn")
        self._proc = ctx.Process(
            target=_simulator_process, args=(child, seed, markets, rate), daemon=True
        )
        self._proc.start()
        self.ws_url: str = self._pipe.recv()

    async def call(self, command: str, args: Any = None) -> Any:
        self._pipe.send((command, args))
        return await asyncio.to_thread(self._pipe.recv)

    async def close(self) -> None:
        try:
            await self.call("stop")
        finally:
            await asyncio.to_thread(self._proc.join, 10)
            if self._proc.is_alive():
                self._proc.kill()


FAULT_ACTIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "drop": [("drop", {})],
    "half_open": [("half_open", {})],
    "accept_then_close": [
        ("close_after", {"count": 0, "target": "next", "next_n": 2}),
        ("drop", {}),
    ],
    "reject_429": [
        ("reject_upgrade", {"status": 429, "retry_after": 1, "target": "next"}),
        ("drop", {}),
    ],
    "close_1011": [("close", {"code": 1011})],
    "silence": [("silence", {})],
}


# -- the client ----------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc; ru_maxrss elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_fds() -> int:
    """Open file descriptors of this process (Linux /proc; -1 where it cannot be read)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, in value units per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 3600.0


def leak_summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    """RSS slope over the second half of the run, and the fd / task / RSS ranges.

    The first half is warm-up (allocator arenas, the dedupe windows and histograms reaching
    their bounds); a leak shows as a slope that persists into the second half.
    """
    if not samples:
        return {}
    end = samples[-1]["t"]
    second = [s for s in samples if s["t"] >= end / 2]
    client = [(s["t"], s["rss"]) for s in second]
    sim = [(s["t"], s["sim_rss"]) for s in second if s.get("sim_rss", -1) >= 0]
    tape = [(s["t"], s["tape_mb"]) for s in second]

    def span(key: str, rows: list[dict[str, float]]) -> list[float]:
        values = [r[key] for r in rows]
        return [min(values), max(values)]

    return {
        "samples": len(samples),
        "second_half_samples": len(second),
        "rss_slope_mb_per_h": round(slope_per_hour(client), 2),
        "tape_slope_mb_per_h": round(slope_per_hour(tape), 2),
        "rss_slope_net_of_tape_mb_per_h": round(slope_per_hour(client) - slope_per_hour(tape), 2),
        "sim_rss_slope_mb_per_h": round(slope_per_hour(sim), 2) if sim else None,
        "rss_mb_range_second_half": span("rss", second),
        "fds_range": span("fds", samples),
        "fds_range_second_half": span("fds", second),
        "tasks_range": span("tasks", samples),
        "tasks_range_second_half": span("tasks", second),
    }


class Tape:
    """What the consumer received: ids per code (compact), order and recovered counts."""

    def __init__(self) -> None:
        self.ids: dict[str, array[int]] = {}
        self.last_ts: dict[str, int] = {}
        self.out_of_order = 0
        self.recovered = 0
        self.stall_for = 0.0
        self.unrecoverable: list[str] = []

    def megabytes(self) -> float:
        """Memory this harness holds for the comparison (grows with the run by design)."""
        return sum(a.itemsize * len(a) for a in self.ids.values()) / 2**20

    async def consume(self, stream: upbitws.Stream) -> None:
        async for item in stream:
            if isinstance(item, Trade):
                code = item.code
                ids = self.ids.get(code)
                if ids is None:
                    ids = self.ids[code] = array("q")
                ids.append(item.sequential_id)
                if item.trade_timestamp < self.last_ts.get(code, 0):
                    self.out_of_order += 1
                self.last_ts[code] = item.trade_timestamp
                self.recovered += isinstance(item, RecoveredTrade)
            elif isinstance(item, GapUnrecoverable) and item.type == "trade":
                self.unrecoverable.append(f"{item.code}: {item.reason}")
            if self.stall_for:
                pause, self.stall_for = self.stall_for, 0.0
                await asyncio.sleep(pause)  # the reader keeps reading; the queue fills


async def settle(stream: upbitws.Stream, within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while True:
            s = stream.stats()
            if s.gaps_opened == s.gaps_filled + s.gaps_unrecoverable and s.queue_depth == 0:
                return
            await asyncio.sleep(0.1)


def _stream(markets: list[str], url: str) -> upbitws.Stream:
    return upbitws.connect(
        [upbitws.trade(*markets)],
        url=url,
        ping_interval=0.3,
        pong_timeout=0.6,
        data_timeout=2.0,
        probe_timeout=1.0,
        backoff=BackoffPolicy(initial=0.05, maximum=0.5, stable_after=1.0),
        queue_size=150,
        backfill_hold=60,
        include_events=True,
    )


def _add_stats(total: Counter[str], stats: Any) -> None:
    for name in (
        "reconnections",
        "trades_recovered",
        "duplicates_suppressed",
        "gaps_opened",
        "gaps_filled",
        "gaps_unrecoverable",
    ):
        total[name] += getattr(stats, name)


async def run(
    seconds: float, markets: list[str], rate: float, every: float, seed: int, long: bool = False
) -> dict[str, Any]:
    """The chaos run. A stream that dies (an exception out of the stream: a client bug) is
    recorded in ``stream_deaths`` and replaced by a new one, so the leak measurement goes on;
    completeness is then checked per stream (each one's first to last trade)."""
    sim = SimulatorProcess(seed, markets, rate)
    rng = random.Random(seed)
    applied: Counter[str] = Counter()
    tapes: list[Tape] = []
    deaths: list[dict[str, Any]] = []
    finished: Counter[str] = Counter()  # stats of streams that died
    current: list[upbitws.Stream] = []
    rss: list[tuple[float, float]] = []
    samples: list[dict[str, float]] = []
    started = time.monotonic()

    def reconnections() -> int:
        return finished["reconnections"] + (current[-1].stats().reconnections if current else 0)

    async def sample(elapsed: float) -> None:
        samples.append(
            {
                "t": round(elapsed, 1),
                "rss": round(rss_mb(), 2),
                "sim_rss": round(await sim.call("rss"), 2),
                "fds": open_fds(),
                "tasks": len(asyncio.all_tasks()),
                "tape_mb": round(sum(t.megabytes() for t in tapes), 3),
                "reconnections": reconnections(),
            }
        )

    async def consume_forever() -> None:
        while True:
            tape = Tape()
            tapes.append(tape)
            stream = _stream(markets, sim.ws_url)
            current.append(stream)
            try:
                async with stream:
                    await tape.consume(stream)
            except Exception as exc:  # a stream death is the finding: record it, go on
                deaths.append({"t": round(time.monotonic() - started, 1), "error": _describe(exc)})
                print(f"soak: the stream died: {_describe(exc)}; starting a new one", flush=True)
                _add_stats(finished, stream.stats())
                current.pop()
                await asyncio.sleep(0.5)

    try:
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(consume_forever())
            await asyncio.sleep(2.0)
            rss_start = rss_mb()
            rss.append((0.0, rss_start))
            await sample(time.monotonic() - started)
            kinds = itertools.cycle(FAULTS)
            while time.monotonic() - started < seconds:
                kind = next(kinds)
                if kind == "stall":
                    tapes[-1].stall_for = STALL_SECONDS
                else:
                    await sim.call("fault", FAULT_ACTIONS[kind])
                applied[kind] += 1
                await asyncio.sleep(every * rng.uniform(0.7, 1.3))  # silence: until reconnect
                elapsed = time.monotonic() - started
                if not rss or elapsed - rss[-1][0] >= 10:
                    rss.append((round(elapsed, 1), rss_mb()))
                if elapsed - samples[-1]["t"] >= SAMPLE_EVERY:
                    await sample(elapsed)
            if not current:  # a stream died just now: its replacement starts in 0.5 s
                await asyncio.sleep(1.0)
            await settle(current[-1])
            await asyncio.sleep(1.0)
            await settle(current[-1])
            await sample(time.monotonic() - started)
            total = Counter(finished)
            _add_stats(total, current[-1].stats())
            rss_end = rss_mb()
            elapsed = time.monotonic() - started
            reader.cancel()
        sim_stats = await sim.call("stats")
        history = await sim.call("tape", markets)
    finally:
        await sim.close()

    per_market: dict[str, dict[str, int]] = {}
    for code in markets:
        ids = history[code]
        index = {sid: i for i, sid in enumerate(ids)}
        expected: set[int] = set()
        received: list[int] = []
        for tape in tapes:  # each stream: complete from its first trade to its last
            mine = tape.ids.get(code, array("q"))
            if not mine:
                continue
            first, last = index[mine[0]], index[mine[-1]]
            expected.update(ids[first : last + 1])
            received.extend(mine)
        got = set(received)
        per_market[code] = {
            "expected": len(expected),
            "received": len(received),
            "missing": len(expected - got),
            "duplicates": len(received) - len(got),
            "extra": len(got - expected),
        }
    totals = {k: sum(m.get(k, 0) for m in per_market.values()) for k in per_market[markets[0]]}
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": round(elapsed, 1),
        "markets": markets,
        "trade_rate": rate,
        "fault_every_s": every,
        "faults_applied": dict(applied),
        "faults_total": sum(applied.values()),
        "reconnections": total["reconnections"],
        "streams": len(tapes),
        "stream_deaths": deaths,
        "trades": totals,
        "per_market": per_market,
        "trades_recovered": total["trades_recovered"],
        "recovered_delivered": sum(t.recovered for t in tapes),
        "out_of_order": sum(t.out_of_order for t in tapes),
        "duplicates_suppressed": total["duplicates_suppressed"],
        "gaps": {
            "opened": total["gaps_opened"],
            "filled": total["gaps_filled"],
            "unrecoverable": total["gaps_unrecoverable"],
        },
        "unrecoverable_reasons": [r for t in tapes for r in t.unrecoverable][:20],
        "rest_requests": sim_stats.get("rest_requests"),
        "rejected_upgrades": sim_stats.get("rejected_upgrades"),
        "rss_mb": {"start": round(rss_start, 1), "end": round(rss_end, 1)},
        "rss_series": [(t, round(m, 1)) for t, m in rss],
        "long": long,
        "leaks": leak_summary(samples),
        "samples": samples if long else [],
        "complete": totals["missing"] == 0 and totals["duplicates"] == 0 and totals["extra"] == 0,
    }


def _describe(exc: BaseException) -> str:
    """The innermost exceptions of a (possibly nested) group, one line."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def render(result: dict[str, Any]) -> str:
    t, g = result["trades"], result["gaps"]
    faults = ", ".join(f"{k} {v}" for k, v in sorted(result["faults_applied"].items()))
    title = "Long soak: leaks and completeness" if result.get("long") else "Soak"
    lines = [
        f"# {title}: trade backfill and dedupe under faults",
        "",
        f"{result['date']}, Python {result['python']} on {result['machine']}; "
        f"{result['seconds']:.0f} s, {len(result['markets'])} markets at trade-rate "
        f"{result['trade_rate']}, a fault every ~{result['fault_every_s']} s. "
        "Simulator in a child process; RSS is the client's.",
        "",
        f"**Result: {'complete, no duplicates' if result['complete'] else 'INCOMPLETE'}**"
        + (
            f"; **{len(result['stream_deaths'])} stream death(s)** (an exception ended the "
            "stream: a client bug; a new stream was started and each is checked on its own)"
            if result.get("stream_deaths")
            else "; no stream died"
        ),
        "",
        "| measure | value |",
        "|---|---|",
        f"| faults applied | {result['faults_total']} ({faults}) |",
        f"| reconnections | {result['reconnections']} |",
        f"| trades expected (simulator tape, same window) | {t['expected']} |",
        f"| trades received | {t['received']} |",
        f"| missing / duplicates / extra | {t['missing']} / {t['duplicates']} / {t['extra']} |",
        f"| recovered from REST | {result['trades_recovered']} |",
        f"| duplicates suppressed | {result['duplicates_suppressed']} |",
        f"| gaps opened / filled / unrecoverable | {g['opened']} / {g['filled']} / "
        f"{g['unrecoverable']} |",
        f"| out-of-order deliveries | {result['out_of_order']} |",
        f"| REST requests | {result['rest_requests']} |",
        f"| HTTP 429 upgrades met | {result['rejected_upgrades']} |",
        f"| RSS start / end | {result['rss_mb']['start']} MB / {result['rss_mb']['end']} MB |",
        "",
        "| market | expected | received | missing | duplicates |",
        "|---|---|---|---|---|",
    ]
    for code, m in result["per_market"].items():
        lines.append(
            f"| {code} | {m['expected']} | {m['received']} | {m['missing']} | {m['duplicates']} |"
        )
    if result.get("stream_deaths"):
        lines += ["", "Stream deaths (time into the run, the exception that escaped):", ""]
        lines += [f"- {d['t']} s: {d['error']}" for d in result["stream_deaths"][:20]]
    leaks = result.get("leaks")
    if leaks:
        lines += [
            "",
            f"Resources, sampled every {SAMPLE_EVERY:.0f} s ({leaks['samples']} samples; the "
            "slope is a least-squares fit over the second half of the run):",
            "",
            "| measure | value |",
            "|---|---|",
            f"| client RSS slope, second half | {leaks['rss_slope_mb_per_h']} MB/h |",
            f"| of which the harness's own tape of ids | {leaks['tape_slope_mb_per_h']} MB/h |",
            f"| client RSS slope net of the tape | {leaks['rss_slope_net_of_tape_mb_per_h']} "
            "MB/h |",
            f"| client RSS range, second half | {leaks['rss_mb_range_second_half'][0]} – "
            f"{leaks['rss_mb_range_second_half'][1]} MB |",
            f"| simulator RSS slope, second half (keeps every trade, see below) | "
            f"{leaks['sim_rss_slope_mb_per_h']} MB/h |",
            f"| open fds, whole run / second half | {leaks['fds_range'][0]} – "
            f"{leaks['fds_range'][1]} / {leaks['fds_range_second_half'][0]} – "
            f"{leaks['fds_range_second_half'][1]} |",
            f"| asyncio tasks, whole run / second half | {leaks['tasks_range'][0]} – "
            f"{leaks['tasks_range'][1]} / {leaks['tasks_range_second_half'][0]} – "
            f"{leaks['tasks_range_second_half'][1]} |",
            f"| reconnections / streams | {result['reconnections']} / {result.get('streams', 1)} |",
            "",
            "The harness's tape of received ids and the simulator's trade history (every trade "
            "of the run is kept, `history_size` 2,000,000 per market, for the tape comparison) "
            "grow with the run by design; the client's own state is what should plateau.",
        ]
    if result["unrecoverable_reasons"]:
        lines += ["", "Unrecoverable trade gaps:", ""]
        lines += [f"- {r}" for r in result["unrecoverable_reasons"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    seconds = float(os.environ.get("UPBITWS_SOAK_SECONDS", "600"))
    count = int(os.environ.get("UPBITWS_SOAK_MARKETS", "6"))
    rate = float(os.environ.get("UPBITWS_SOAK_RATE", "1.5"))
    flag = os.environ.get("UPBITWS_SOAK_LONG", "")
    long = flag.lower() in {"1", "true", "yes"} if flag else seconds >= LONG_SECONDS
    default_every = LONG_FAULT_EVERY if long else 4.0
    every = float(os.environ.get("UPBITWS_SOAK_FAULT_EVERY", str(default_every)))
    seed = int(os.environ.get("UPBITWS_SOAK_SEED", "11"))
    markets = ALL_MARKETS[: max(1, min(count, len(ALL_MARKETS)))]
    result = asyncio.run(run(seconds, markets, rate, every, seed, long))
    out = Path(os.environ.get("UPBITWS_SOAK_OUT", str(RESULTS)))
    out.mkdir(parents=True, exist_ok=True)
    name = "soak_long" if long else "soak"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    (out / f"{name}.md").write_text(text)
    print(text)
    return 0 if result["complete"] and not result["stream_deaths"] else 1


if __name__ == "__main__":
    sys.exit(main())
