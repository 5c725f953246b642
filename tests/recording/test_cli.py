"""The commands' input handling: comma-separated types, mistakes exit 2 with one line."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from upbitws.simulator import Simulator

from .conftest import spawn

if TYPE_CHECKING:
    from pathlib import Path


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await spawn(*args, stdout=asyncio.subprocess.PIPE)
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_stream_takes_comma_separated_types() -> None:
    async with Simulator(seed=1, markets=["KRW-BTC"], trade_rate=10.0) as sim:
        code, out, err = await _run(
            "stream", "trade,ticker", "KRW-BTC", "--url", sim.ws_url, "--duration", "2", "--jsonl"
        )
    assert code == 0, err
    types = {json.loads(line)["type"] for line in out.splitlines()}
    assert types == {"trade", "ticker"}


async def test_record_refuses_private_types_without_consent(tmp_path: Path) -> None:
    code, _, err = await _run("record", "trade,myOrder", "KRW-BTC", "--out", str(tmp_path))
    assert code == 2
    assert err.strip().splitlines() == [
        "error: private types (your orders and assets) are recorded only with --include-private"
    ]


async def test_replay_of_nothing_is_one_line(tmp_path: Path) -> None:
    code, _, err = await _run("replay", str(tmp_path / "missing"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "no recording at" in err
