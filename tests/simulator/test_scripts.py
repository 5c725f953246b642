"""Out-of-process use: Upbit-docs-style client script, and the ``upbitws simulate`` command."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from upbitws.simulator import DEFAULT_SECRET_KEY

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

EXAMPLE = Path(__file__).with_name("upbit_docs_example.py")
LAUNCH = (
    "import typer; from upbitws.cli.simulate import simulate; "
    "app = typer.Typer(); app.command()(simulate); app()"
)
FIRST_LINE = re.compile(r"^upbitws simulator listening on (http://127\.0\.0\.1:(\d+))$")


async def test_upbit_docs_style_script_works_with_only_the_url_changed(
    sim: Simulator, tmp_path: Path
) -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    original = 'URL = "wss://api.upbit.com/websocket/v1"'
    assert original in source
    script = tmp_path / "example.py"
    script.write_text(source.replace(original, f'URL = "{sim.ws_url}"'), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) == 5
    assert {line.split()[0] for line in lines} <= {"KRW-BTC", "KRW-ETH"}
    assert lines[0].endswith("SNAPSHOT")


@asynccontextmanager
async def simulate(
    *args: str, secret: str | None = "k" * 64
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Run ``upbitws simulate ARGS`` (with ``secret`` as UPBIT_SIM_SECRET_KEY; None: the
    built-in test key) and yield it with its URL; always killed at the end."""
    env = {k: v for k, v in os.environ.items() if k != "UPBIT_SIM_SECRET_KEY"}
    if secret is not None:
        env["UPBIT_SIM_SECRET_KEY"] = secret
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAUNCH, "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().rstrip("\n")
        match = FIRST_LINE.match(first)
        assert match, first
        yield proc, match.group(1)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_cli_first_line_and_clean_sigterm(http: aiohttp.ClientSession) -> None:
    async with simulate("--markets", "KRW-BTC,BTC-ADA", "--seed", "3", "--idle-timeout", "60") as (
        proc,
        url,
    ):
        async with http.get(f"{url}/v1/market/all") as r:
            assert [m["market"] for m in await r.json()] == ["KRW-BTC", "BTC-ADA"]
        ws_url = url.replace("http", "ws") + "/websocket/v1"
        async with http.ws_connect(ws_url) as ws:
            await ws.send_str('[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"]}]')
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.BINARY
            proc.send_signal(signal.SIGTERM)
            closing = await ws.receive(timeout=10)
            while closing.type == aiohttp.WSMsgType.BINARY:
                closing = await ws.receive(timeout=10)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == 1001  # going away
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert proc.stderr is not None
        assert proc.stdout is not None
        assert b"stopped" in await proc.stderr.read()
        assert b"k" * 64 not in await proc.stdout.read()  # the secret is never printed


async def test_cli_bench_feed(http: aiohttp.ClientSession) -> None:
    async with simulate("--bench-feed", "trade", "--bench-count", "500") as (proc, url):
        ws_url = url.replace("http", "ws") + "/websocket/v1"
        async with http.ws_connect(ws_url) as ws:
            await ws.send_str('[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"]}]')
            frames = 0
            async for msg in ws:
                assert msg.type == aiohttp.WSMsgType.BINARY
                frames += 1
        assert frames == 500
        assert ws.close_code == 1000
        assert proc.stdout is not None
        line = b""
        while not line.startswith(b"bench: sent"):
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
        assert b"sent 500 frames" in line
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_the_printed_export_lines_open_a_private_stream() -> None:
    """``upbitws simulate`` prints its built-in test keys as shell ``export`` lines; with them
    in the environment ``upbitws stream myAsset`` authenticates against it (and the stream
    prints no secret)."""
    async with simulate(secret=None) as (proc, url):
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        while len(exports) < 2:
            line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
            assert line, "the simulator ended its banner without the export lines"
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                exports[name] = shlex.split(value)[0]
        assert set(exports) == {"UPBIT_OPEN_API_ACCESS_KEY", "UPBIT_OPEN_API_SECRET_KEY"}
        assert exports["UPBIT_OPEN_API_SECRET_KEY"] == DEFAULT_SECRET_KEY
        ws = url.replace("http://", "ws://") + "/websocket/v1"
        stream = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "upbitws", "stream", "myAsset", "--url", ws,
            "--duration", "1.5", "--log-level", "debug",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **exports},
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(stream.communicate(), 20)
        finally:
            if stream.returncode is None:
                stream.kill()
                await stream.wait()
    text = (out + err).decode()
    assert stream.returncode == 0, text
    assert "connected private" in text
    assert DEFAULT_SECRET_KEY not in text
