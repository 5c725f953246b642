"""``upbitws stream`` with a wrong URL, run as a user runs it: a real process against a real
simulator (or a hostile server) on loopback; every CLI command's ``--help`` works."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import typer
from aiohttp import web

from upbitws.cli._app import build_app
from upbitws.simulator import Simulator
from upbitws.simulator.config import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

from .hostile import free_port, http_server

if TYPE_CHECKING:
    from .conftest import SimFactory

UPBITWS = [sys.executable, "-m", "upbitws"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("UPBIT_OPEN_API")}


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *UPBITWS,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or ENV,
    )
    try:
        async with asyncio.timeout(30):
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err.decode(), time.monotonic() - started


async def _plain_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="<html>hello</html>")


WrongUrl = Callable[[Simulator, int], str]
CASES: dict[str, tuple[WrongUrl, int, str]] = {
    # name: (url from (simulator, plain-200 port), exit code, words of the cause)
    "http origin": (lambda sim, _: sim.url, 2, "did you mean ws://"),
    "no scheme": (lambda sim, _: f"127.0.0.1:{sim.port}", 2, "did you mean ws://"),
    "404 path": (lambda sim, _: f"ws://127.0.0.1:{sim.port}/websocket", 1, "HTTP 404"),
    "wss to plain": (lambda sim, _: f"wss://127.0.0.1:{sim.port}/websocket/v1", 1, "TLS"),
    "typo'd host": (lambda sim, _: "ws://no-such-host.invalid:8765/websocket/v1", 1, "resolve"),
    "refused": (lambda sim, _: f"ws://127.0.0.1:{free_port()}/websocket/v1", 1, "refused"),
    "plain 200": (lambda sim, port: f"ws://127.0.0.1:{port}/websocket/v1", 1, "HTTP 200"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_wrong_url_exits_fast_with_one_line(case: str, make_sim: SimFactory) -> None:
    sim = await make_sim()
    make_url, code, cause = CASES[case]
    async with http_server(_plain_page) as (port, _):
        url = make_url(sim, port)
        returncode, stderr, elapsed = await _run("stream", "ticker", "KRW-BTC", "--url", url)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert returncode == code, stderr
    assert elapsed < 5.0
    assert len(lines) == 1, stderr
    assert url in lines[0]
    assert cause in lines[0]
    assert "Traceback" not in stderr


async def test_the_private_url_as_url_works_and_is_never_doubled(make_sim: SimFactory) -> None:
    sim = await make_sim()
    env = {
        **ENV,
        "UPBIT_OPEN_API_ACCESS_KEY": DEFAULT_ACCESS_KEY,
        "UPBIT_OPEN_API_SECRET_KEY": DEFAULT_SECRET_KEY,
    }
    url = sim.private_ws_url
    args = ["stream", "myOrder", "KRW-BTC", "--url", url, "--duration", "1.5"]
    returncode, stderr, _ = await _run(*args, env=env)
    assert returncode == 0, stderr
    assert f"connected private to {url}\n" in stderr  # the Connected event names the URL
    assert "/private/private" not in stderr


async def test_max_retries_and_private_url_flags() -> None:
    async def unavailable(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503)

    async with http_server(unavailable) as (port, seen):
        url = f"ws://127.0.0.1:{port}/websocket/v1"
        returncode, stderr, _ = await _run(
            "stream", "ticker", "KRW-BTC", "--url", url, "--max-retries", "2"
        )
        assert returncode == 1
        assert "RetriesExhaustedError" in stderr
        upgrades = [r for r in seen if r.path == "/websocket/v1"]  # besides the market check
        assert len(upgrades) == 2
        returncode, stderr, _ = await _run(
            "stream", "myOrder", "--private-url", "http://127.0.0.1:1", "--url", url
        )
        assert returncode == 2
        assert "private_url 'http://127.0.0.1:1'" in stderr


def _commands() -> list[list[str]]:
    command = typer.main.get_command(build_app())
    names = sorted(getattr(command, "commands", {}))
    assert "stream" in names
    return [[], *([name] for name in names)]


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a) or "upbitws")
async def test_every_command_has_a_working_help(args: list[str]) -> None:
    returncode, stderr, _ = await _run(*args, "--help")
    assert returncode == 0, stderr
