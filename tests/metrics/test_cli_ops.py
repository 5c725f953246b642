"""``upbitws stream --metrics-port / --alert / --alert-webhook``, run as users run it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

UPBITWS = [sys.executable, "-m", "upbitws"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("UPBIT_OPEN_API")}


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


@pytest.fixture
def simulator() -> Iterator[str]:
    proc = subprocess.Popen(
        [*UPBITWS, "simulate", "--port", "0", "--markets", "KRW-BTC", "--rate", "5"],
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
        _stop(proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_stream_serves_metrics_and_healthz(simulator: str) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            *UPBITWS,
            "stream",
            "trade",
            "KRW-BTC",
            "--url",
            simulator,
            "--duration",
            "4",
            "--metrics-port",
            str(port),
            "--alert",
            "rss_mb=4096",
            "--alert",
            "cpu_percent=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline:
            try:
                status, text = _get(base + "/metrics")
            except OSError:
                time.sleep(0.1)
                continue
            if 'upbitws_messages_received_total{endpoint="public",type="trade"}' in text:
                break
            time.sleep(0.1)
        assert 'upbitws_connected{endpoint="public"} 1.0' in text
        assert "process_resident_memory_bytes" in text
        assert 'upbitws_alerts_firing{alert="rss_mb"} 0.0' in text
        status, body = _get(base + "/healthz")
        assert status == 200, body
        assert json.loads(body)["endpoints"]["public"]["state"] == "open"
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        assert "rss_mb=" in stderr  # the final statistics line shows the process
        assert "loop_lag_ms=" in stderr
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--alert", "bogus=1"], "NAME one of disconnected"),
        (["--alert", "rss_mb=big"], "'big' is not a number"),
        (["--alert", "reconnect_storm=-2"], "must be a finite number >= 0"),
        (["--alert-webhook", "ftp://hooks.example/T/SECRET"], "http:// or https://"),
    ],
)
def test_bad_operations_flags_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    result = subprocess.run(
        [*UPBITWS, "stream", "ticker", "KRW-BTC", "--url", "ws://127.0.0.1:9/x", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=ENV,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "SECRET" not in result.stderr
