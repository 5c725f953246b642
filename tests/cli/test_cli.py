"""The command line, run as users run it: real processes, a real simulator on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

UPBITWS = [sys.executable, "-m", "upbitws"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("UPBIT_OPEN_API")}


@pytest.fixture
def simulator() -> Iterator[str]:
    """``upbitws simulate --port 0`` in a child process; yields its ws URL; always stopped."""
    proc = subprocess.Popen(
        [
            *UPBITWS,
            "simulate",
            "--port",
            "0",
            "--seed",
            "3",
            "--markets",
            "KRW-BTC,KRW-ETH",
            "--rate",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("upbitws simulator listening on http://127.0.0.1:"), first
        yield first.rsplit(" ", 1)[1].replace("http://", "ws://") + "/websocket/v1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe:
                    pipe.close()


def run(
    *args: str, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UPBITWS, *args], capture_output=True, text=True, timeout=timeout, env=env or ENV
    )


def test_stream_jsonl_writes_one_exact_json_object_per_message(simulator: str) -> None:
    result = run("stream", "trade", "KRW-BTC", "--url", simulator, "--jsonl", "--duration", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) >= 3
    for line in lines:
        obj = json.loads(line, parse_float=Decimal)
        assert obj["type"] == "trade"
        assert obj["code"] == "KRW-BTC"
        assert isinstance(obj["sequential_id"], int)
        assert isinstance(obj["trade_volume"], Decimal | int)  # a JSON number, not a string
    assert "connected public" in result.stderr  # lifecycle on stderr, never on stdout
    assert "msgs_in=" in result.stderr


def test_stream_human_output_and_orderbook_options(simulator: str) -> None:
    result = run(
        "stream", "orderbook", "krw-btc", "--url", simulator, "--depth", "5", "--duration", "1.5"
    )
    assert result.returncode == 0, result.stderr
    assert "KRW-BTC" in result.stdout
    assert "(5 units)" in result.stdout


def test_stream_rejects_a_bad_subscription_before_connecting() -> None:
    result = run("stream", "orderbook", "KRW-BTC", "--depth", "20", "--url", "ws://127.0.0.1:9/x")
    assert result.returncode == 2
    assert "1, 5, 15, 30" in result.stderr


def test_private_stream_needs_keys_from_the_environment() -> None:
    result = run("stream", "myAsset", "--url", "ws://127.0.0.1:9/websocket/v1")
    assert result.returncode == 2
    assert "UPBIT_OPEN_API_ACCESS_KEY" in result.stderr


def test_private_stream_with_keys_from_the_environment(simulator: str) -> None:
    from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

    env = dict(ENV)
    env["UPBIT_OPEN_API_ACCESS_KEY"] = DEFAULT_ACCESS_KEY
    env["UPBIT_OPEN_API_SECRET_KEY"] = DEFAULT_SECRET_KEY
    result = run("stream", "myOrder", "--url", simulator, "--duration", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_SECRET_KEY not in result.stdout + result.stderr
    assert DEFAULT_ACCESS_KEY not in result.stdout + result.stderr


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("stream", "demo", "simulate"):
        assert command in result.stdout


def test_demo_runs_and_exits_zero() -> None:
    result = run("demo", "--duration", "4", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "demo finished" in result.stderr
    assert "1 reconnection" in result.stderr


def test_package_has_main_module() -> None:
    import upbitws

    assert (Path(upbitws.__file__).parent / "__main__.py").is_file()
