"""Slow consumers: clients that subscribe to a busy feed and then stop reading.

A simulator runs in a child process; ``clients`` raw sockets (small receive buffers) each
subscribe to trade, ticker and every orderbook view of every market and never read again.
The simulator's resident set size is sampled every second. Before the send queue was bounded
in bytes, each stuck connection pinned up to 50,000 queued frames (300 clients: 52 → 697 MB
in 40 s); now each is cut at ``max_queue_bytes`` (default 4 MiB) and all together stay under
``send_budget_bytes``.

    python bench/slow_consumers.py                      # 300 clients, 40 s
    UPBITWS_SLOW_CLIENTS=50 UPBITWS_SLOW_SECONDS=20 python bench/slow_consumers.py

Results go to ``bench/results/slow_consumers.md`` / ``.json``. The helpers here are also used
by ``tests/simulator/test_slow_consumers.py`` (a smaller run, in ``make test``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["SUBSCRIBE", "main", "rss_mb", "run", "simulator_process", "stuck_client"]

RESULTS = Path(__file__).resolve().parent / "results"
MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-ADA"]
_CODES = MARKETS + [f"{m}.{n}" for m in MARKETS for n in (1, 5, 15)]
#: Every busy stream at once: trades, tickers, and four orderbook views of each market.
SUBSCRIBE = json.dumps(
    [
        {"ticket": "slow-consumer"},
        {"type": "trade", "codes": MARKETS},
        {"type": "ticker", "codes": MARKETS},
        {"type": "orderbook", "codes": _CODES},
    ]
).encode()

#: The same 300-client, 40 s run on the code before the byte bound (commit 98eeeda), for the
#: report: queues were bounded only at 50,000 frames per connection, with no global budget.
BEFORE = {"rss_start_mb": 40.8, "rss_peak_mb": 955.2, "cut": 147, "open": 153, "connect_s": 15.7}

_CHILD = """
import asyncio, json, sys
from upbitws.simulator import Simulator

async def main() -> None:
    knobs = json.loads(sys.argv[1])
    async with Simulator(**knobs) as sim:
        print(sim.url, flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes stdin

asyncio.run(main())
"""


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextlib.contextmanager
def simulator_process(**knobs: Any) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A simulator in a child process: ``(process, http_url)``; stopped on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(knobs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"simulator child did not start (exit {proc.poll()})")
        yield proc, url
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _masked_text(payload: bytes) -> bytes:
    """One client→server text frame (RFC 6455 §5.2: client frames are masked)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def stuck_client(host: str, port: int, payload: bytes = SUBSCRIBE) -> socket.socket:
    """Open a WebSocket to ``/websocket/v1``, send ``payload`` and never read again.

    The receive buffer is set small before connecting so the kernel absorbs little and the
    server's send path backs up at once, as it would for a consumer stuck behind a slow link.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /websocket/v1 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: read exactly the handshake, nothing more
            if not chunk:
                raise ConnectionError("simulator closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        sock.sendall(_masked_text(payload))
    except BaseException:
        sock.close()
        raise
    return sock


def sim_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_sim/stats", timeout=10) as reply:
        stats: dict[str, Any] = json.loads(reply.read())
    return stats


def run(clients: int, seconds: float, **knobs: Any) -> dict[str, Any]:
    """Start a simulator, stick ``clients`` slow consumers on it, sample RSS for ``seconds``."""
    knobs = {"markets": MARKETS, "trade_rate": 8.0, "connect_limit": None, **knobs}
    with simulator_process(**knobs) as (proc, url):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        time.sleep(0.5)
        start_rss = rss_mb(proc.pid)
        socks: list[socket.socket] = []
        try:
            started = time.monotonic()
            socks.extend(stuck_client(host, int(port)) for _ in range(clients))
            connected = time.monotonic() - started
            series: list[tuple[float, float]] = [(0.0, start_rss)]
            while (elapsed := time.monotonic() - started) < seconds:
                time.sleep(1.0)
                series.append((round(elapsed, 1), round(rss_mb(proc.pid), 1)))
            stats = sim_stats(url)
        finally:
            for sock in socks:
                sock.close()
    return {
        "clients": clients,
        "seconds": seconds,
        "connect_seconds": round(connected, 2),
        "knobs": {k: v for k, v in knobs.items() if k != "markets"},
        "rss_start_mb": round(start_rss, 1),
        "rss_peak_mb": max(m for _, m in series),
        "rss_end_mb": series[-1][1],
        "rss_series": series,
        "slow_consumers_cut": stats.get("slow_consumers"),
        "budget_cuts": stats.get("send_budget_cuts"),
        "connections_left": stats.get("connections"),
        "messages_sent": stats.get("messages_sent"),
    }


def render(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "# Slow consumers: clients that subscribe to a busy feed and stop reading",
            "",
            f"{result['date']}, Python {result['python']} on {result['machine']}. Simulator in "
            "a child process (RSS is the simulator's); each client subscribes to trade, ticker "
            "and four orderbook views of 6 markets at trade-rate "
            f"{result['knobs'].get('trade_rate')}, with a 4 KiB receive buffer, and never reads.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| clients | {result['clients']} (connected in {result['connect_seconds']} s) |",
            f"| run | {result['seconds']:.0f} s |",
            f"| simulator RSS start / peak / end | {result['rss_start_mb']} / "
            f"{result['rss_peak_mb']} / {result['rss_end_mb']} MB |",
            f"| connections cut as slow consumers | {result['slow_consumers_cut']} |",
            f"| of which cut by the global send budget | {result['budget_cuts']} |",
            f"| connections still open at the end | {result['connections_left']} |",
            f"| knobs | {result['knobs']} |",
            "",
            "Before the byte bound (same 300 clients, 40 s; queues bounded only at 50,000 frames "
            f"each): RSS {BEFORE['rss_start_mb']} → {BEFORE['rss_peak_mb']} MB at the peak; "
            f"{BEFORE['cut']} connections cut at the frame limit, {BEFORE['open']} "
            "still open.",
            "",
        ]
    )


def main(out_dir: Path) -> None:
    clients = int(os.environ.get("UPBITWS_SLOW_CLIENTS", "300"))
    seconds = float(os.environ.get("UPBITWS_SLOW_SECONDS", "40"))
    result = run(clients, seconds)
    result.update(
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        machine=platform.machine(),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "slow_consumers.json").write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    (out_dir / "slow_consumers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(RESULTS)
