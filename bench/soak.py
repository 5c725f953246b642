"""Soak: the chaos run of ``tests/client/test_backfill.py`` for longer (trade backfill).

Busy simulated markets, trades subscribed, a fault every few seconds (abrupt drops,
half-open sockets, accept-then-close, HTTP 429 with Retry-After, server close 1011, data
silence, and consumer stalls that overflow a small trade queue), then the consumer's tape is
compared with the simulator's for the same window: complete, without duplicates, in time
order, for every market.

The simulator runs in a child process (so the RSS measured is the client's alone) and is
driven over a pipe. Results go to ``bench/results/soak.md`` and ``soak.json``.

    UPBITWS_SOAK_SECONDS=600 python bench/soak.py     # make soak

Environment: ``UPBITWS_SOAK_SECONDS`` (run length, default 600), ``UPBITWS_SOAK_MARKETS``
(default 6), ``UPBITWS_SOAK_RATE`` (trade-rate multiplier, default 1.5),
``UPBITWS_SOAK_FAULT_EVERY`` (seconds between faults, default 4), ``UPBITWS_SOAK_SEED``.
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


class Tape:
    """What the consumer received: ids per code (compact), order and recovered counts."""

    def __init__(self) -> None:
        self.ids: dict[str, array[int]] = {}
        self.last_ts: dict[str, int] = {}
        self.out_of_order = 0
        self.recovered = 0
        self.stall_for = 0.0
        self.unrecoverable: list[str] = []

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


async def run(
    seconds: float, markets: list[str], rate: float, every: float, seed: int
) -> dict[str, Any]:
    sim = SimulatorProcess(seed, markets, rate)
    rng = random.Random(seed)
    applied: Counter[str] = Counter()
    tape = Tape()
    rss: list[tuple[float, float]] = []
    try:
        stream = upbitws.connect(
            [upbitws.trade(*markets)],
            url=sim.ws_url,
            ping_interval=0.3,
            pong_timeout=0.6,
            data_timeout=2.0,
            probe_timeout=1.0,
            backoff=BackoffPolicy(initial=0.05, maximum=0.5, stable_after=1.0),
            queue_size=150,
            backfill_hold=60,
            include_events=True,
        )
        started = time.monotonic()
        async with stream, asyncio.TaskGroup() as tg:
            reader = tg.create_task(tape.consume(stream))
            await asyncio.sleep(2.0)
            rss_start = rss_mb()
            rss.append((0.0, rss_start))
            kinds = itertools.cycle(FAULTS)
            while time.monotonic() - started < seconds:
                kind = next(kinds)
                if kind == "stall":
                    tape.stall_for = STALL_SECONDS
                else:
                    await sim.call("fault", FAULT_ACTIONS[kind])
                applied[kind] += 1
                await asyncio.sleep(every * rng.uniform(0.7, 1.3))  # silence: until reconnect
                elapsed = time.monotonic() - started
                if not rss or elapsed - rss[-1][0] >= 10:
                    rss.append((round(elapsed, 1), rss_mb()))
            await settle(stream)
            await asyncio.sleep(1.0)
            await settle(stream)
            stats = stream.stats()
            rss_end = rss_mb()
            elapsed = time.monotonic() - started
            reader.cancel()
        sim_stats = await sim.call("stats")
        history = await sim.call("tape", markets)
    finally:
        await sim.close()

    per_market: dict[str, dict[str, int]] = {}
    for code in markets:
        mine = tape.ids.get(code, array("q"))
        ids = history[code]
        if not mine:
            per_market[code] = {"expected": 0, "received": 0, "missing": 0, "duplicates": 0}
            continue
        index = {sid: i for i, sid in enumerate(ids)}
        first, last = index[mine[0]], index[mine[-1]]
        expected = set(ids[first : last + 1])
        got = set(mine)
        per_market[code] = {
            "expected": len(expected),
            "received": len(mine),
            "missing": len(expected - got),
            "duplicates": len(mine) - len(got),
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
        "reconnections": stats.reconnections,
        "trades": totals,
        "per_market": per_market,
        "trades_recovered": stats.trades_recovered,
        "recovered_delivered": tape.recovered,
        "out_of_order": tape.out_of_order,
        "duplicates_suppressed": stats.duplicates_suppressed,
        "gaps": {
            "opened": stats.gaps_opened,
            "filled": stats.gaps_filled,
            "unrecoverable": stats.gaps_unrecoverable,
        },
        "unrecoverable_reasons": tape.unrecoverable[:20],
        "rest_requests": sim_stats.get("rest_requests"),
        "rejected_upgrades": sim_stats.get("rejected_upgrades"),
        "rss_mb": {"start": round(rss_start, 1), "end": round(rss_end, 1)},
        "rss_series": [(t, round(m, 1)) for t, m in rss],
        "complete": totals["missing"] == 0 and totals["duplicates"] == 0 and totals["extra"] == 0,
    }


def render(result: dict[str, Any]) -> str:
    t, g = result["trades"], result["gaps"]
    faults = ", ".join(f"{k} {v}" for k, v in sorted(result["faults_applied"].items()))
    lines = [
        "# Soak: trade backfill and dedupe under faults",
        "",
        f"{result['date']}, Python {result['python']} on {result['machine']}; "
        f"{result['seconds']:.0f} s, {len(result['markets'])} markets at trade-rate "
        f"{result['trade_rate']}, a fault every ~{result['fault_every_s']} s. "
        "Simulator in a child process; RSS is the client's.",
        "",
        f"**Result: {'complete, no duplicates' if result['complete'] else 'INCOMPLETE'}**",
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
    if result["unrecoverable_reasons"]:
        lines += ["", "Unrecoverable trade gaps:", ""]
        lines += [f"- {r}" for r in result["unrecoverable_reasons"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    seconds = float(os.environ.get("UPBITWS_SOAK_SECONDS", "600"))
    count = int(os.environ.get("UPBITWS_SOAK_MARKETS", "6"))
    rate = float(os.environ.get("UPBITWS_SOAK_RATE", "1.5"))
    every = float(os.environ.get("UPBITWS_SOAK_FAULT_EVERY", "4"))
    seed = int(os.environ.get("UPBITWS_SOAK_SEED", "11"))
    markets = ALL_MARKETS[: max(1, min(count, len(ALL_MARKETS)))]
    result = asyncio.run(run(seconds, markets, rate, every, seed))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    (RESULTS / "soak.md").write_text(text)
    print(text)
    return 0 if result["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
