"""Record → faults → SIGKILL → restart → replay, end to end with the real CLI and simulator.

The recorder runs as ``upbitws record`` in a subprocess; its consumer writes what it yielded
to a tee file (JSON lines, one flushed line per item). Meanwhile the simulator drops the
connection and then blackholes it (half-open: no data, no pongs). The recorder is SIGKILLed,
left dead while trades go on, and started again on the same directory. Then:

* ``replay`` yields exactly what the two live consumers yielded (``to_dict`` equal, events
  included), except the killed run's last second, which had not been written yet;
* the recorded trade tape is complete against the simulator's REST history across the
  restart: 0 missing, 0 duplicated;
* a truncated copy of the final file reads up to its last complete record, with a warning.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from typing import TYPE_CHECKING

from upbitws.recording import recording_files, replay
from upbitws.simulator import Simulator

from .conftest import normal, spawn, tee_lines, wait_for

if TYPE_CHECKING:
    from pathlib import Path

CODES = ("KRW-BTC", "KRW-ETH")


def _count(path: Path, event: str) -> int:
    return sum(1 for item in tee_lines(path) if item.get("event") == event)


async def _record(sim: Simulator, out: Path, tee: Path) -> asyncio.subprocess.Process:
    return await spawn(
        "record",
        "trade,ticker",
        *CODES,
        "--out",
        str(out),
        "--url",
        sim.ws_url,
        "--ping-interval",
        "0.3",
        "--pong-timeout",
        "0.9",
        "--tee",
        str(tee),
    )


async def test_record_kill_restart_replay_is_exact_and_the_tape_complete(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    tee1, tee2 = tmp_path / "live1.jsonl", tmp_path / "live2.jsonl"
    async with Simulator(seed=7, markets=list(CODES), trade_rate=4.0) as sim:
        first = await _record(sim, out, tee1)
        try:
            await wait_for(lambda: len(tee_lines(tee1)) > 50, what="first recorded items")
            sim.apply_fault("drop")
            await wait_for(lambda: _count(tee1, "Reconnected") >= 1, what="reconnect after drop")
            await wait_for(lambda: _count(tee1, "GapFilled") >= 2, what="gaps filled")
            sim.apply_fault("half_open")
            await wait_for(lambda: _count(tee1, "Reconnected") >= 2, what="blackhole detected")
            await asyncio.sleep(1.0)
            killed_ms = time.time() * 1000
            first.send_signal(signal.SIGKILL)
        finally:
            if first.returncode is None:
                first.kill()
            await first.wait()
        await asyncio.sleep(1.0)  # trades go on while no recorder runs

        second = await _record(sim, out, tee2)
        try:
            await wait_for(lambda: _count(tee2, "GapFilled") >= 2, what="resumed tape filled")
            await asyncio.sleep(1.5)
            second.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                assert await second.wait() == 0
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        history = {code: sim.trades(code) for code in CODES}

    live1, live2 = tee_lines(tee1), tee_lines(tee2)
    replayed = [normal(item) for item in replay(out)]

    # What the restarted recorder's consumer got is all there, exactly, at the end.
    assert replayed[-len(live2) :] == live2
    # Before it: the killed run, up to what had been written.
    kept = len(replayed) - len(live2)
    assert replayed[:kept] == live1[:kept]
    lost = live1[kept:]
    assert len(lost) < len(live1) // 2
    lost_trades = [i["trade_timestamp"] for i in lost if i.get("type") == "trade"]
    # Flushed at most 0.1 s (+ one 0.05 s tick) after they happened: SIGKILL loses under a
    # second (200 ms of delivery latency allowed under a loaded machine).
    assert all(ts >= killed_ms - 1200 for ts in lost_trades), (killed_ms, lost_trades[:3])
    events = [i["event"] for i in replayed if "event" in i]
    assert events.count("Reconnected") >= 2
    assert "Disconnected" in events
    resumed = [i for i in replayed if i.get("event") == "GapDetected" and i["cause"] == "resume"]
    assert {i["code"] for i in resumed} == set(CODES)

    messages = [i for i in replayed if "event" not in i]
    # The tape: every trade REST knows between the first and the last recorded, once.
    for code in CODES:
        tape = [i for i in messages if i["type"] == "trade" and i["code"] == code]
        ids = [t["sequential_id"] for t in tape]
        assert len(ids) == len(set(ids)), f"{code}: duplicated trades"
        lo, hi = tape[0]["trade_timestamp"], tape[-1]["trade_timestamp"]
        expected = {t.sequential_id for t in history[code] if lo < t.trade_timestamp < hi}
        assert expected - set(ids) == set(), f"{code}: missing trades"
        assert set(ids) <= {t.sequential_id for t in history[code]}
        assert any(t.get("recovered") for t in tape), f"{code}: no trade came from REST"

    # The CLI prints the same messages (as `upbitws stream --jsonl` would have).
    proc = await spawn("replay", str(out), "--jsonl", stdout=asyncio.subprocess.PIPE)
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr
    printed = [json.loads(line) for line in stdout.decode().splitlines()]
    assert len(printed) == len(messages)
    assert [(p["type"], p["code"], p["timestamp"]) for p in printed] == [
        (m["type"], m["code"], m["timestamp"]) for m in messages
    ]
    assert b"no closing record" in stderr  # the killed file says so, and is read anyway

    # A truncated final file: read up to its last complete record, with a warning.
    files = recording_files(out)
    assert len(files) == 2
    final = files[-1]
    cut = tmp_path / "cut"
    cut.mkdir()
    shutil.copy(files[0], cut / files[0].name)
    data = final.read_bytes()
    (cut / final.name).write_bytes(data[: len(data) * 2 // 3])
    whole = [normal(i) for i in replay(out)]
    partial_replay = replay(cut)
    partial = [normal(i) for i in partial_replay]
    assert 0 < len(partial) < len(whole)
    assert partial == whole[: len(partial)]
    assert any(final.name in w for w in partial_replay.warnings)
