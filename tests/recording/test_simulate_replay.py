"""``upbitws simulate --replay``: any client gets the recorded trades, in order, re-stamped."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import upbitws
from upbitws.models import Trade
from upbitws.recording import Recorder, replay
from upbitws.simulator import Simulator

from .conftest import env, spawn

if TYPE_CHECKING:
    from pathlib import Path

#: A plain aiohttp client, nothing of upbitws: what any Upbit client does.
CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys
    import aiohttp

    async def main(url: str, code: str, want: int) -> None:
        request = [{"ticket": "replay-test"}, {"type": "trade", "codes": [code]}]
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url) as ws:
                await ws.send_str(json.dumps(request))
                got = 0
                async for msg in ws:
                    frame = json.loads(msg.data)
                    print(json.dumps(frame), flush=True)
                    if frame.get("stream_type") == "REALTIME":
                        got += 1
                    if got >= want:
                        return

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


async def test_an_aiohttp_client_gets_the_recorded_trades_in_order(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    async with Simulator(seed=9, markets=["KRW-BTC", "KRW-ETH"], trade_rate=6.0) as sim:
        stream = upbitws.connect([upbitws.trade("KRW-BTC", "KRW-ETH")], url=sim.ws_url)
        async with Recorder(stream, out) as recorder:
            try:
                async with asyncio.timeout(2.0):
                    async for _ in recorder:
                        pass
            except TimeoutError:
                pass
    recorded = [m for m in replay(out) if isinstance(m, Trade) and m.code == "KRW-BTC"]
    assert len(recorded) > 10

    server = await spawn(
        "simulate",
        "--replay",
        str(out),
        "--speed",
        "4",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        async with asyncio.timeout(20):
            line = (await server.stdout.readline()).decode()
        assert line.startswith("upbitws simulator listening on http://"), line
        ws_url = line.split()[-1].replace("http://", "ws://") + "/websocket/v1"
        script = tmp_path / "client.py"
        script.write_text(CLIENT)
        started_ms = time.time() * 1000
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            ws_url,
            "KRW-BTC",
            str(len(recorded)),
            env=env(),
            stdout=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(40):
            stdout, _ = await client.communicate()
        assert client.returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            await server.wait()
    frames: list[dict[str, Any]] = [json.loads(x) for x in stdout.decode().splitlines()]
    live = [f for f in frames if f["stream_type"] == "REALTIME"]
    assert [f["sequential_id"] for f in live] == [t.sequential_id for t in recorded]
    for frame, trade in zip(live, recorded, strict=True):
        assert frame["type"] == "trade"
        assert str(frame["trade_price"]) == str(trade.trade_price) or float(
            frame["trade_price"]
        ) == float(trade.trade_price)
        assert frame["timestamp"] >= started_ms - 1000  # re-stamped to now
        assert frame["timestamp"] - frame["trade_timestamp"] == (
            trade.timestamp - trade.trade_timestamp
        )
