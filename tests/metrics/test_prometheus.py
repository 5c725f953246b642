"""A real Prometheus server scrapes a live stream and fires a shipped alert rule.

The ``prometheus`` binary (Debian package ``prometheus``; ``make test`` installs it) runs on a
free loopback port with its own config and a temporary storage directory, and is stopped by
the test. Its rules are ``deploy/prometheus/alerts.yml`` with ``UpbitwsDisconnected``'s
``for:`` shortened from 30 s to 1 s.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

import upbitws
from upbitws.metrics import AlertRules, serve

from .conftest import FAST, eventually

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
INSTALL = "apt-get update && apt-get install -y prometheus (or: make prometheus-tools)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _api(session: aiohttp.ClientSession, base: str, path: str, **params: str) -> Any:
    async with session.get(base + path, params=params) as r:
        return await r.json()


async def test_prometheus_scrapes_the_stream_and_fires_an_alert(
    sim: Simulator, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    assert binary, f"the prometheus server binary is needed: {INSTALL}"
    rules = (DEPLOY / "alerts.yml").read_text(encoding="utf-8")
    assert "expr: upbitws_connected == 0\n        for: 30s" in rules
    (tmp_path / "alerts.yml").write_text(
        rules.replace(
            "expr: upbitws_connected == 0\n        for: 30s",
            "expr: upbitws_connected == 0\n        for: 1s",
        ),
        encoding="utf-8",
    )
    started = time.monotonic()
    async with (
        upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=AlertRules(cpu_percent=None), interval=0.2) as exporter,
    ):
        (tmp_path / "prometheus.yml").write_text(
            "global:\n"
            "  scrape_interval: 500ms\n"
            "  evaluation_interval: 500ms\n"
            "rule_files: [alerts.yml]\n"
            "scrape_configs:\n"
            "  - job_name: upbitws\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter.port}']\n",
            encoding="utf-8",
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with aiohttp.ClientSession() as session:

                async def ready() -> bool:
                    assert proc.returncode is None, "prometheus exited"
                    try:
                        async with session.get(base + "/-/ready") as r:
                            return r.status == 200
                    except aiohttp.ClientConnectionError:
                        return False

                await eventually(ready, timeout=15)

                async def series_arrived() -> bool:
                    doc = await _api(
                        session,
                        base,
                        "/api/v1/query",
                        query='upbitws_messages_received_total{job="upbitws",type="trade"} > 0',
                    )
                    return bool(doc["data"]["result"])

                await eventually(series_arrived, timeout=10)
                doc = await _api(session, base, "/api/v1/query", query="upbitws_connected")
                [connected] = doc["data"]["result"]
                assert connected["metric"]["endpoint"] == "public"
                assert connected["value"][1] == "1"
                doc = await _api(
                    session, base, "/api/v1/query", query="process_resident_memory_bytes"
                )
                assert doc["data"]["result"]

                sim.apply_fault("reject_upgrade", status=429, retry_after=0)  # stays down
                sim.apply_fault("drop")

                firing: list[dict[str, Any]] = []

                async def alert_fires() -> bool:
                    doc = await _api(session, base, "/api/v1/alerts")
                    firing[:] = [
                        a
                        for a in doc["data"]["alerts"]
                        if a["labels"]["alertname"] == "UpbitwsDisconnected"
                        and a["state"] == "firing"
                    ]
                    return bool(firing)

                await eventually(alert_fires, timeout=10)
                assert firing[0]["labels"]["upbitws_alert"] == "disconnected"
                assert firing[0]["labels"]["endpoint"] == "public"
                sim.clear_faults()
        finally:
            proc.terminate()
            try:
                _, stderr = await asyncio.wait_for(proc.communicate(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert time.monotonic() - started < 30
