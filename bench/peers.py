"""upbitws side by side with the practical limits and the peer clients, on the same feed.

``main(out_dir)`` (called by ``bench/run.py``, or ``python bench/peers.py [OUT_DIR]``):

1. makes sure the bench-only venv ``.bench-venv`` exists with ``bench/requirements-peers.txt``
   and upbitws from this checkout (never the project's own dependencies);
2. for each repeat, each feed (trade, ticker, orderbook, mix) and each consumer in turn,
   starts the bench feed (the simulator's bench mode, or ``consumers/_standin.py`` with the
   same contract while the simulator has none) and one consumer process
   (``bench/consumers/*.py``) against it, at saturation; then the trade feed at fixed rates
   (1k and 10k msgs/s) for the latency figures; every process is stopped in ``finally``;
3. writes ``peers.json`` (every run), ``peers.md`` (medians with min–max, ratios within a
   repeat, the goals), ``peers.png`` (throughput and p99 latency per consumer),
   ``client.md`` / ``client.json`` (upbitws end to end against the bare
   aiohttp + msgspec loop, and RSS over a million messages), and a cProfile of the upbitws
   consumer.

Knobs: ``UPBITWS_BENCH_SCALE`` (default 1: ~1 s per saturation run, 1.5 s per latency run,
1M messages for the RSS run; 0.2 for a smoke run), ``UPBITWS_BENCH_REPEATS`` (default 3),
``UPBITWS_BENCH_ONLY`` (comma-separated consumer names). Only loopback traffic.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import platform
import pstats
import selectors
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CONSUMERS_DIR = BENCH / "consumers"
VENV = ROOT / ".bench-venv"
VPY = VENV / "bin" / "python"
REQS = BENCH / "requirements-peers.txt"

FEEDS = ("trade", "ticker", "orderbook", "mix")
RATES = (1_000, 10_000)
UPBITWS = ("upbitws-exact", "upbitws-float")
LIMITS = ("picows-raw", "aiohttp-raw", "aiohttp+msgspec", "aiohttp+msgspec-Decimal")
PEERS = ("pyupbit", "upbit-sdk", "ccxt.pro", "cryptofeed")
CEILING = "aiohttp+msgspec"

#: name -> (script, extra arguments)
CONSUMERS: dict[str, tuple[str, list[str]]] = {
    "picows-raw": ("raw_picows.py", []),
    "aiohttp-raw": ("raw_aiohttp.py", ["--decode", "none"]),
    "aiohttp+msgspec": ("raw_aiohttp.py", ["--decode", "msgspec"]),
    "aiohttp+msgspec-Decimal": ("raw_aiohttp.py", ["--decode", "msgspec-decimal"]),
    "upbitws-exact": ("upbitws_client.py", ["--numbers", "decimal"]),
    "upbitws-float": ("upbitws_client.py", ["--numbers", "float"]),
    "pyupbit": ("pyupbit_wsm.py", []),
    "upbit-sdk": ("upbit_sdk.py", []),
    "ccxt.pro": ("ccxt_pro.py", []),
    "cryptofeed": ("cryptofeed_feed.py", []),
}
#: Clients that subscribe with ``format: SIMPLE`` (the simulator's feed must be told).
SIMPLE_FORMAT = frozenset({"cryptofeed"})
#: Saturation-only consumers (a second ceiling; its latency tells nothing new).
NO_LATENCY = frozenset({"aiohttp+msgspec-Decimal"})
NOT_APPLICABLE = {("cryptofeed", "ticker"): "cryptofeed's Upbit feed has no ticker channel"}

#: Rough msgs/s on the 2-core reference machine, only to size the first repeat's runs; later
#: repeats are sized from what the earlier ones measured.
EXPECTED_RATE: dict[str, dict[str, float]] = {
    "picows-raw": {"trade": 1.2e6, "ticker": 1.0e6, "orderbook": 5e5, "mix": 1.0e6},
    "aiohttp-raw": {"trade": 9e5, "ticker": 9e5, "orderbook": 4e5, "mix": 8e5},
    "aiohttp+msgspec": {"trade": 4.7e5, "ticker": 3.5e5, "orderbook": 1.1e5, "mix": 2.8e5},
    "aiohttp+msgspec-Decimal": {"trade": 3.5e5, "ticker": 2e5, "orderbook": 4e4, "mix": 1.5e5},
    "upbitws-exact": {"trade": 1.9e5, "ticker": 1.7e5, "orderbook": 5e4, "mix": 1.3e5},
    "upbitws-float": {"trade": 2.8e5, "ticker": 2.5e5, "orderbook": 7e4, "mix": 1.8e5},
    "pyupbit": {"trade": 5.5e4, "ticker": 4e4, "orderbook": 1.3e4, "mix": 3.5e4},
    "upbit-sdk": {"trade": 1.3e4, "ticker": 9e3, "orderbook": 1.2e3, "mix": 3.5e3},
    "ccxt.pro": {"trade": 7e4, "ticker": 3.6e4, "orderbook": 9e3, "mix": 2.2e4},
    "cryptofeed": {"trade": 1.2e5, "ticker": 1.0, "orderbook": 2e4, "mix": 4e4},
}

#: How each peer is pointed at the feed: the smallest override its code allows.
OVERRIDES = {
    "pyupbit": "URI is a local string in `WebSocketManager.__connect_socket`: the module's "
    "`websockets` name is rebound to a proxy whose `connect()` dials the bench URL "
    "(inherited by the forked reader process).",
    "upbit-sdk": "none to the code: the documented `AsyncUpbit(websocket_base_url=...)` option.",
    "ccxt.pro": "the instance's `urls['api']['ws']` (bench WebSocket URL) and "
    "`urls['api']['public']` (bench HTTP root, for `load_markets()` → `/v1/market/all`).",
    "cryptofeed": "class attributes `Upbit.websocket_endpoints` / `Upbit.rest_endpoints`; its "
    "`WSAsyncConn` refuses any address but `wss://`, so the endpoint keeps a `wss://` address "
    "and `cryptofeed.connection.connect` is wrapped to dial it as `ws://`.",
}


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


SCALE = max(0.05, _env_float("UPBITWS_BENCH_SCALE", 1.0))
REPEATS = max(1, int(_env_float("UPBITWS_BENCH_REPEATS", 3)))
SAT_SECONDS = 1.0 * SCALE
LAT_SECONDS = 1.5 * SCALE
RSS_MESSAGES = int(1_000_000 * SCALE)


def log(*parts: object) -> None:
    print("[peers]", *parts, file=sys.stderr, flush=True)


# -- the bench environment -----------------------------------------------------------------


def ensure_venv() -> None:
    """Create / refresh ``.bench-venv`` from the pinned requirements (stamped by hash)."""
    want = hashlib.sha256(REQS.read_bytes() + f"|{ROOT}[cli]".encode()).hexdigest()
    stamp = VENV / ".peers-installed"
    if VPY.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return
    started = time.monotonic()
    if not VPY.exists():
        log(f"creating {VENV.name} (bench-only environment)")
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(VPY), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    log("installing the peers from", REQS.relative_to(ROOT))
    subprocess.run([*pip, "-r", str(REQS)], check=True, timeout=1200)
    subprocess.run([*pip, "-e", f"{ROOT}[cli]"], check=True, timeout=600)  # cli: upbitws simulate
    stamp.write_text(want + "\n")
    log(f"bench environment ready in {time.monotonic() - started:.0f}s")


def revision() -> str:
    """The checkout measured: commit, and whether ``src/`` had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes in src/' if dirty else ''}"


def versions() -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "names = ['upbitws','pyupbit','upbit-sdk','ccxt','cryptofeed','picows','aiohttp',"
        "'msgspec','websockets','uvloop']\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(VPY), "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else {}


# -- one run: a feed process and a consumer process ----------------------------------------


def _has_sim_bench() -> bool:
    code = "import importlib.util as u; print(u.find_spec('upbitws.simulator.bench') is not None)"
    done = subprocess.run([str(VPY), "-c", code], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() == "True"


class FeedSource:
    """Starts one bench feed process: the simulator's bench mode (``upbitws simulate
    --bench-feed ...``) or ``consumers/_standin.py`` (the simulator's frames, batched writes)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = {
            "simulator": "upbitws simulate --bench-feed (upbitws.simulator.bench)",
            "standin": "bench/consumers/_standin.py (the simulator's bench frames, batched writes)",
        }[kind]

    def command(self, feed: str, rate: float, count: int, simple: bool) -> list[str]:
        knobs = ["--bench-feed", feed, "--bench-rate", str(rate), "--bench-count", str(count)]
        if self.kind == "simulator":
            fmt = ["--bench-format", "SIMPLE"] if simple else []
            return [str(VENV / "bin" / "upbitws"), "simulate", "--port", "0", *knobs, *fmt]
        return [str(VPY), str(CONSUMERS_DIR / "_standin.py"), "--port", "0", *knobs]

    def start(
        self, feed: str, rate: float, count: int, simple: bool = False
    ) -> tuple[subprocess.Popen[bytes], str]:
        proc = subprocess.Popen(
            self.command(feed, rate, count, simple),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            cwd=ROOT,
        )
        try:
            url = _read_url(proc, 30.0)
        except BaseException:
            stop(proc)
            raise
        return proc, url


def _read_url(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The first ``ws://`` URL the feed prints (``READY ws://...`` or ``bench    ws://...``)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            *lines, _partial = seen.split(b"\n")
            for word in b" ".join(lines).decode(errors="replace").split():
                if word.startswith("ws://"):
                    url = word.rstrip(".,;:")
                    if not url.rstrip("/").endswith("/websocket/v1"):
                        url = url.rstrip("/") + "/websocket/v1"
                    return url
    raise RuntimeError(f"the bench feed did not print its URL: {seen[-300:]!r}")


#: ``GET /v1/market/all`` for the clients that load markets before they subscribe (ccxt,
#: cryptofeed); the bench feed serves WebSocket only.
MARKETS = [
    {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"},
    {"market": "KRW-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
    {"market": "KRW-XRP", "korean_name": "리플", "english_name": "XRP"},
]


class _MarketsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/market/all":
            self.send_error(404)
            return
        body = json.dumps(MARKETS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RestStub:
    """A loopback HTTP server in a thread, for the whole bench run."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MarketsHandler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RestStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def background_cores(window: float = 0.2) -> float:
    """Cores kept busy by other processes while the bench is idle (0 on a quiet machine)."""
    try:
        b0, t0 = _cpu_jiffies()
        time.sleep(window)
        b1, t1 = _cpu_jiffies()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


class Quiet:
    """Before each run, wait (bounded) for other processes to leave the CPUs alone: the
    machine is shared and every figure is a wall-clock or CPU measurement."""

    def __init__(self, threshold: float = 0.3, per_run: float = 10.0, budget: float = 120.0):
        self.threshold = threshold
        self.per_run = per_run
        self.budget = budget
        self.waited = 0.0

    def __call__(self) -> float:
        load = background_cores()
        deadline = time.monotonic() + min(self.per_run, max(0.0, self.budget - self.waited))
        while load > self.threshold and time.monotonic() < deadline:
            started = time.monotonic()
            time.sleep(1.0)
            load = background_cores()
            self.waited += time.monotonic() - started
        return load


QUIET = Quiet()


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def run_one(
    source: FeedSource,
    consumer: str,
    feed: str,
    *,
    rest: str,
    count: int,
    rate: float = 0.0,
    mode: str = "sat",
    expected_s: float = 2.0,
    extra: Iterable[str] = (),
    profile: tuple[str, Path] | None = None,
) -> dict[str, Any]:
    script, args = CONSUMERS[consumer]
    timeout = 20.0 + 4.0 * expected_s
    cmd = [str(VPY), str(CONSUMERS_DIR / script), *args, *extra]
    if profile is not None and profile[0] == "py-spy":
        spy = [str(VENV / "bin" / "py-spy"), "record", "-r", "1000", "-f", "raw", "-o"]
        cmd = [*spy, str(profile[1]), "--", *cmd]
    elif profile is not None:
        cmd += ["--profile", str(profile[1])]
    cmd += ["--feed", feed, "--mode", mode, "--count", str(count), "--timeout", str(timeout)]
    cmd += ["--rest", rest]
    background = QUIET()
    server, url = source.start(feed, rate, count, simple=consumer in SIMPLE_FORMAT)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*cmd, "--url", url],
            capture_output=True,
            text=True,
            timeout=timeout + 15.0,
            cwd=ROOT,
        )
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not lines:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return _failed(consumer, feed, mode, rate, count, " | ".join(tail) or "no output")
        result: dict[str, Any] = json.loads(lines[-1])
    except subprocess.TimeoutExpired:
        return _failed(consumer, feed, mode, rate, count, "killed after the deadline")
    finally:
        stop(server)
    result.update(rate=rate, process_s=time.monotonic() - started, background_cores=background)
    result["msgs_per_s"] = _throughput(result)
    result["cpu_s_per_m"] = (
        result["cpu_s"] / result["frames"] * 1e6
        if result.get("end") in ("close", "count")
        else None
    )
    return result


def _failed(
    consumer: str, feed: str, mode: str, rate: float, count: int, why: str
) -> dict[str, Any]:
    log(f"  {consumer} {feed} {mode} failed: {why[:300]}")
    return {
        "consumer": consumer,
        "feed": feed,
        "mode": mode,
        "rate": rate,
        "frames": count,
        "error": why[:500],
    }


def _throughput(result: dict[str, Any]) -> float | None:
    """Frames the feed sent per second of the consumer's span when it saw the whole feed
    (conflating clients deliver fewer than they parse), else delivered messages per second."""
    wall = result.get("wall_s") or 0.0
    if wall <= 0:
        return None
    if result.get("end") in ("close", "count"):
        return float(result["frames"] / wall)
    return float(result["messages"] / wall)


# -- the plan ----------------------------------------------------------------------------


def selected() -> list[str]:
    only = os.environ.get("UPBITWS_BENCH_ONLY", "").strip()
    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(CONSUMERS)
    unknown = [n for n in names if n not in CONSUMERS]
    if unknown:
        raise SystemExit(f"UPBITWS_BENCH_ONLY: unknown consumers {unknown}; use {list(CONSUMERS)}")
    return names


def sat_count(consumer: str, feed: str, history: list[dict[str, Any]]) -> tuple[int, float]:
    rates = [
        r["msgs_per_s"]
        for r in history
        if r.get("consumer") == consumer
        and r.get("feed") == feed
        and r.get("mode") == "sat"
        and r.get("msgs_per_s")
    ]
    rate = statistics.median(rates) if rates else EXPECTED_RATE[consumer][feed]
    count = int(min(2_000_000, max(2_000, rate * SAT_SECONDS)))
    return count, count / rate


class Plan:
    """Which feed process serves which runs, and the REST stub's URL."""

    def __init__(self, rest: str) -> None:
        self.rest = rest
        self.simulator = FeedSource("simulator") if _has_sim_bench() else None
        self.standin = FeedSource("standin")
        self.calibration: dict[str, dict[str, float]] = {}
        self.sat = self.standin
        self.lat = self.standin

    def calibrate(self) -> None:
        """Measure each feed process with the bare picows loop: how fast it pushes trades at
        saturation, and the latency floor at 10k msgs/s (best of two). The simulator's own
        bench mode serves a kind of run when it is as good an instrument there as the batched
        writer (within 20% of its rate; p50 / p99 floors within 1.5x + 50 / + 100 µs)."""
        count = int(max(50_000, 400_000 * SCALE))
        lat_count = int(max(5_000, 10_000 * LAT_SECONDS))
        sources = [("standin", self.standin)]
        if self.simulator is not None:
            sources.append(("simulator", self.simulator))
        for name, source in sources:
            sat = run_one(source, "picows-raw", "trade", rest=self.rest, count=count)
            lats = [
                run_one(
                    source,
                    "picows-raw",
                    "trade",
                    rest=self.rest,
                    count=lat_count,
                    rate=10_000,
                    mode="lat",
                    expected_s=LAT_SECONDS,
                ).get("latency_us", {})
                for _ in range(2)  # the better of two: a floor, not a sample of noise
            ]
            p50s = [x["p50"] for x in lats if x.get("p50") is not None]
            p99s = [x["p99"] for x in lats if x.get("p99") is not None]
            self.calibration[name] = {
                "msgs_per_s": sat.get("msgs_per_s") or 0.0,
                "p50_us_at_10k": min(p50s) if p50s else float("inf"),
                "p99_us_at_10k": min(p99s) if p99s else float("inf"),
            }
            c = self.calibration[name]
            log(
                f"feed {name}: {c['msgs_per_s']:,.0f} msgs/s into a bare picows loop; "
                f"at 10k msgs/s p50 {c['p50_us_at_10k']:.0f} µs, p99 {c['p99_us_at_10k']:.0f} µs"
            )
        sim, ref = self.calibration.get("simulator"), self.calibration["standin"]
        if sim and self.simulator is not None:
            if sim["msgs_per_s"] >= 0.8 * ref["msgs_per_s"]:
                self.sat = self.simulator
            if (
                sim["p50_us_at_10k"] <= 1.5 * ref["p50_us_at_10k"] + 50
                and sim["p99_us_at_10k"] <= 1.5 * ref["p99_us_at_10k"] + 100
            ):
                self.lat = self.simulator


def run_all(plan: Plan, consumers: list[str]) -> list[dict[str, Any]]:
    log(f"saturation feed: {plan.sat.name}; fixed-rate feed: {plan.lat.name}")
    log(f"scale {SCALE}, {REPEATS} repeats; consumers: {', '.join(consumers)}")
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    for repeat in range(REPEATS):
        for feed in FEEDS:
            for consumer in consumers:
                if (consumer, feed) in NOT_APPLICABLE:
                    continue
                count, expected = sat_count(consumer, feed, runs)
                result = run_one(
                    plan.sat, consumer, feed, rest=plan.rest, count=count, expected_s=expected
                )
                result["repeat"] = repeat
                runs.append(result)
                _progress(result)
        for rate in RATES:
            count = max(500, int(rate * LAT_SECONDS))
            for consumer in (c for c in consumers if c not in NO_LATENCY):
                result = run_one(
                    plan.lat,
                    consumer,
                    "trade",
                    rest=plan.rest,
                    count=count,
                    rate=rate,
                    mode="lat",
                    expected_s=LAT_SECONDS,
                )
                result["repeat"] = repeat
                runs.append(result)
                _progress(result)
        log(f"repeat {repeat + 1}/{REPEATS} done at {time.monotonic() - started:.0f}s")
    return runs


def _progress(r: dict[str, Any]) -> None:
    if "error" in r:
        return
    what = f"{r['consumer']:<16} {r['feed']:<9} {r['mode']}"
    if r["mode"] == "lat":
        lat = r.get("latency_us", {})
        log(f"  {what} @{r['rate']:>6.0f}/s p50 {lat.get('p50')} p99 {lat.get('p99')} µs")
    else:
        rate = r.get("msgs_per_s") or 0
        log(f"  {what} {rate:>10,.0f} msgs/s  cpu {r['cpu_s']:.2f}s  end {r['end']}")


def rss_run(plan: Plan) -> dict[str, Any]:
    """upbitws (exact) over ``RSS_MESSAGES`` trades at saturation, RSS sampled every 10%."""
    count = max(20_000, RSS_MESSAGES)
    every = max(1, count // 10)
    expected = count / EXPECTED_RATE["upbitws-exact"]["trade"]
    return run_one(
        plan.sat,
        "upbitws-exact",
        "trade",
        rest=plan.rest,
        count=count,
        expected_s=expected,
        extra=["--rss-every", str(every)],
    )


PROFILED = (("upbitws-exact", "trade"), ("upbitws-float", "trade"), ("upbitws-exact", "orderbook"))


def profile_run(plan: Plan, out: Path) -> dict[str, Any]:
    """Where the upbitws consumer process spends its time, per feed: py-spy samples (no
    instrumentation overhead), or cProfile from the first message if py-spy cannot attach."""
    profiles: dict[str, Any] = {}
    for consumer, feed in PROFILED:
        rate = EXPECTED_RATE[consumer][feed]
        count = int(max(20_000, rate * 2.5 * SCALE))
        path = out / f".profile-{consumer}-{feed}"
        try:
            for tool in ("py-spy", "cProfile"):
                result = run_one(
                    plan.sat,
                    consumer,
                    feed,
                    rest=plan.rest,
                    count=count,
                    expected_s=3 * count / rate,
                    profile=(tool, path),
                )
                if "error" not in result and path.exists() and path.stat().st_size:
                    rows = _pyspy_rows(path) if tool == "py-spy" else _cprofile_rows(path)
                    profiles[f"{consumer} {feed}"] = {"tool": tool, "frames": count, "rows": rows}
                    break
        finally:
            path.unlink(missing_ok=True)
    return profiles


def _short(location: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/bench/"):
        if marker in location:
            return location.split(marker, 1)[1]
    return location


def _pyspy_rows(path: Path, limit: int = 16) -> list[dict[str, Any]]:
    """Self and inclusive shares per function from py-spy's raw (collapsed) stacks, over the
    event loop's steady state (stacks under ``Handle._run``: no imports, no idle threads)."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n_text = line.rpartition(" ")
        if "Handle._run" not in stack or not n_text.isdigit():
            continue
        n = int(n_text)
        total += n
        names = []
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            names.append(f"{name} ({_short(where.rsplit(':', 1)[0])})")
        own[names[-1]] = own.get(names[-1], 0) + n
        for name in set(names):
            incl[name] = incl.get(name, 0) + n
    total = total or 1
    return [
        {"function": f, "self": n / total, "inclusive": incl[f] / total}
        for f, n in sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    ]


def _cprofile_rows(path: Path, limit: int = 16) -> list[dict[str, Any]]:
    raw: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1.0
    rows = [
        {
            "function": f"{func} ({_short(filename)})",
            "self": tottime / total,
            "inclusive": cumtime / total,
        }
        for (filename, _line, func), (_cc, _n, tottime, cumtime, _callers) in raw.items()
    ]
    rows.sort(key=lambda r: r["self"], reverse=True)
    return rows[:limit]


# -- summaries ---------------------------------------------------------------------------


def _stat(values: list[float]) -> dict[str, float] | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(runs: list[dict[str, Any]], consumers: list[str]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    sat: dict[str, dict[str, Any]] = {}
    for c in consumers:
        sat[c] = {}
        for f in FEEDS:
            rs = [r for r in ok if r["consumer"] == c and r["feed"] == f and r["mode"] == "sat"]
            if not rs:
                continue
            sat[c][f] = {
                "msgs_per_s": _stat([r["msgs_per_s"] for r in rs]),
                "cpu_s_per_m": _stat([r["cpu_s_per_m"] for r in rs]),
                "peak_rss_mb": _stat([r["peak_rss_mb"] for r in rs]),
                "delivered_share": _stat([r["messages"] / r["frames"] for r in rs]),
                "n": len(rs),
            }
    lat: dict[str, dict[str, Any]] = {}
    for c in consumers:
        lat[c] = {}
        for rate in RATES:
            rs = [r for r in ok if r["consumer"] == c and r["mode"] == "lat" and r["rate"] == rate]
            rs = [r for r in rs if r.get("latency_us", {}).get("n")]
            if not rs:
                continue
            lat[c][str(rate)] = {
                k: _stat([r["latency_us"][k] for r in rs]) for k in ("p50", "p99", "max")
            }
            lat[c][str(rate)]["cpu_s"] = _stat([r["cpu_s"] for r in rs])
            lat[c][str(rate)]["complete"] = all(r["messages"] == r["frames"] for r in rs)
    ratios = _ratios(ok, consumers)
    cpu_ratios = _ratios(ok, consumers, cpu=True)
    return {"saturation": sat, "latency": lat, "ratios": ratios, "cpu_ratios": cpu_ratios}


def _per_repeat(ok: list[dict[str, Any]], c: str, feed: str) -> dict[int, float]:
    return {
        r["repeat"]: r["msgs_per_s"]
        for r in ok
        if r["consumer"] == c and r["feed"] == feed and r["mode"] == "sat" and r.get("msgs_per_s")
    }


def _cpu_per_repeat(ok: list[dict[str, Any]], c: str, feed: str) -> dict[int, float]:
    return {
        r["repeat"]: r["cpu_s_per_m"]
        for r in ok
        if r["consumer"] == c and r["feed"] == feed and r["mode"] == "sat" and r.get("cpu_s_per_m")
    }


def _ratios(ok: list[dict[str, Any]], consumers: list[str], cpu: bool = False) -> dict[str, Any]:
    """upbitws / other, per feed, computed within each repeat, then median (min–max).
    ``cpu``: the ratio of CPU efficiency (other's CPU s per million / upbitws's), which
    other processes on a shared machine disturb far less than wall-clock throughput."""
    per = _cpu_per_repeat if cpu else _per_repeat
    out: dict[str, Any] = {}
    for mine in (c for c in UPBITWS if c in consumers):
        out[mine] = {}
        for other in (c for c in consumers if c not in UPBITWS):
            out[mine][other] = {}
            for feed in FEEDS:
                a, b = per(ok, mine, feed), per(ok, other, feed)
                if cpu:
                    values = [b[k] / a[k] for k in a if k in b and a[k]]
                else:
                    values = [a[k] / b[k] for k in a if b.get(k)]
                stat = _stat(values)
                if stat:
                    out[mine][other][feed] = stat
    return out


def goals(summary: dict[str, Any], consumers: list[str]) -> list[dict[str, Any]]:
    """The issue's goals, judged on wall-clock throughput ratios within a repeat (as stated);
    the CPU-efficiency ratio is shown beside each as the figure least disturbed by noise."""
    sat, lat = summary["saturation"], summary["latency"]
    ratios, cpu_ratios = summary["ratios"], summary["cpu_ratios"]
    peers = [p for p in PEERS if p in consumers]
    rows: list[dict[str, Any]] = []

    def span(r: dict[str, float] | None) -> str:
        return f"{r['median']:.2f}x ({r['min']:.2f}–{r['max']:.2f})" if r else "–"

    for mine in (c for c in UPBITWS if c in consumers):
        for feed in FEEDS:
            ranked = [
                (sat[p][feed]["msgs_per_s"]["median"], p)
                for p in peers
                if feed in sat.get(p, {}) and sat[p][feed]["msgs_per_s"]
            ]
            if ranked:
                _, fastest = max(ranked)
                r = ratios[mine][fastest].get(feed)
                if r:
                    rows.append(
                        {
                            "goal": f"{mine} ≥ 3x the fastest peer ({fastest}), {feed}",
                            "value": span(r),
                            "cpu": span(cpu_ratios[mine][fastest].get(feed)),
                            "met": r["median"] >= 3.0,
                        }
                    )
            r = ratios[mine].get(CEILING, {}).get(feed)
            if r:
                rows.append(
                    {
                        "goal": f"{mine} ≥ 0.8x {CEILING}, {feed}",
                        "value": span(r),
                        "cpu": span(cpu_ratios[mine][CEILING].get(feed)),
                        "met": r["median"] >= 0.8,
                    }
                )
        mine_p99 = lat.get(mine, {}).get("10000", {}).get("p99")
        if mine_p99:
            theirs = {
                p: lat[p]["10000"]["p99"]["median"]
                for p in peers
                if lat.get(p, {}).get("10000", {}).get("p99")
            }
            best = min(theirs, key=lambda p: theirs[p]) if theirs else None
            rows.append(
                {
                    "goal": f"{mine} p99 at 10k msgs/s below every peer's",
                    "value": f"{mine_p99['median']:.0f} µs"
                    + (f" vs best peer {best} {theirs[best]:.0f} µs" if best else ""),
                    "cpu": "",
                    "met": all(mine_p99["median"] < v for v in theirs.values()),
                }
            )
    return rows


# -- reports -----------------------------------------------------------------------------


def _fmt_rate(s: dict[str, float] | None) -> str:
    if not s:
        return "–"
    return f"{_k(s['median'])} ({_k(s['min'])}–{_k(s['max'])})"


def _k(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.0f}k" if v >= 1e4 else f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def _fmt(s: dict[str, float] | None, digits: int = 2, unit: str = "") -> str:
    if not s:
        return "–"
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def _fmt_us(s: dict[str, float] | None) -> str:
    if not s:
        return "–"
    return f"{s['median']:.0f} ({s['min']:.0f}–{s['max']:.0f})"


def render_md(data: dict[str, Any]) -> str:
    consumers: list[str] = data["consumers"]
    summary = data["summary"]
    sat, lat, ratios = summary["saturation"], summary["latency"], summary["ratios"]
    out: list[str] = []
    w = out.append
    w("# upbitws vs the limits and the peers, on one feed\n")
    cal = data.get("calibration_msgs_per_s", {})
    w(
        f"Generated by `make bench` (`bench/peers.py`) on {data['generated']}; "
        f"{data['machine']}; scale {data['scale']}, {data['repeats']} repeats. Each consumer "
        "runs alone in its own process against its own feed process (binary frames, no "
        "compression, one code: KRW-BTC). Figures are medians (min–max) over the repeats; "
        "ratios are taken within each repeat, then summarised.\n"
    )
    w(
        f"Feeds: saturation from {data['source']['saturation']}; fixed rates from "
        f"{data['source']['fixed_rate']}. Calibration with the bare picows loop (trades): "
        + "; ".join(
            f"{k}: {v['msgs_per_s']:,.0f} msgs/s at saturation, p50 {v['p50_us_at_10k']:.0f} / "
            f"p99 {v['p99_us_at_10k']:.0f} µs at 10k msgs/s"
            for k, v in cal.items()
        )
        + ". The feed must outrun every consumer and add little latency of its own: the "
        "simulator's bench mode serves a kind of run once it is within 20% of the batched "
        "writer's rate (saturation) or its p50 / p99 floors within 1.5x + 50 / + 100 µs "
        "(fixed rates; best of two).\n"
    )
    bg = [r.get("background_cores", 0.0) for r in data["runs"] if "error" not in r]
    if bg:
        w(
            f"Other processes on this shared machine, measured just before each run (after "
            "waiting up to 10 s, 120 s in all, for them to settle; "
            f"{data.get('quiet_waited_s', 0):.0f} s waited): median "
            f"{statistics.median(bg):.2f}, max {max(bg):.2f} busy cores.\n"
        )
    w(
        f"upbitws at {data.get('revision', 'unknown')}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in data["versions"].items())
        + ".\n"
    )
    w("## Goals\n")
    w(
        "Judged on wall-clock throughput ratios (upbitws / other, within each repeat). "
        "Beside each, the CPU-efficiency ratio (other's CPU s per million / upbitws's), "
        "which other load on a shared machine disturbs far less.\n"
    )
    w("| goal | throughput ratio | CPU-efficiency ratio | met |")
    w("|---|---|---|---|")
    for g in data["goals"]:
        w(f"| {g['goal']} | {g['value']} | {g['cpu']} | {'yes' if g['met'] else '**no**'} |")
    w("")
    w("## Throughput at saturation (msgs/s)\n")
    w(
        "Frames the feed sent, per second of the consumer's span from first to last "
        "message. ccxt's `watch_ticker` / `watch_order_book` return the latest state, so "
        "they deliver fewer messages than they parse (share delivered in the JSON).\n"
    )
    _table(w, consumers, sat, "msgs_per_s", _fmt_rate)
    w("## CPU seconds per million messages\n")
    w(
        "User + system CPU of the consumer process over the same span (pyupbit: plus its "
        "reader process).\n"
    )
    _table(w, consumers, sat, "cpu_s_per_m", lambda s: _fmt(s, 2))
    w("## Peak RSS (MB)\n")
    _table(w, consumers, sat, "peak_rss_mb", lambda s: _fmt(s, 0))
    w("## Added latency, trade feed at fixed rates (µs)\n")
    w(
        "From the send time the feed stamps into each trade's `sequential_id` to the moment "
        "the message reaches the consumer's code (same clock, loopback; the bare loops show "
        "the floor). First 5% of samples dropped as warm-up.\n"
    )
    head = "| consumer |" + "".join(
        f" p50 @{r // 1000}k | p99 @{r // 1000}k | max @{r // 1000}k |" for r in RATES
    )
    w(head)
    w("|---|" + "---|" * (3 * len(RATES)))
    for c in (c for c in consumers if c not in NO_LATENCY):
        cells = []
        for rate in RATES:
            d = lat.get(c, {}).get(str(rate))
            cells += [_fmt_us(d and d["p50"]), _fmt_us(d and d["p99"]), _fmt_us(d and d["max"])]
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")
    w("## Ratios, within each repeat\n")
    for title, table_set in (
        ("throughput, upbitws / other", ratios),
        ("CPU efficiency, other's CPU s per million / upbitws's", summary["cpu_ratios"]),
    ):
        for mine, table in table_set.items():
            w(f"**{mine}: {title}**\n")
            w("| other | " + " | ".join(FEEDS) + " |")
            w("|---|" + "---|" * len(FEEDS))
            for other, per in table.items():
                cells = [_fmt(per.get(f), 2, "x") for f in FEEDS]
                w(f"| {other} | " + " | ".join(cells) + " |")
            w("")
    w("## How each peer is pointed at the feed\n")
    for peer, how in OVERRIDES.items():
        w(f"- **{peer}**: {how}")
    w(
        "- **upbitws**: `upbitws.connect(..., url=...)` with defaults, except "
        "`conflate=False` (every ticker/orderbook reaches the consumer) and "
        "`include_events=True` (to see the server's close in order)."
    )
    for (c, f), why in NOT_APPLICABLE.items():
        w(f"- {c} / {f}: not applicable ({why}).")
    w("")
    if data.get("failures"):
        w("## Runs that failed\n")
        for r in data["failures"]:
            w(f"- {r['consumer']} {r['feed']} {r['mode']} @{r.get('rate', 0)}: {r['error']}")
        w("")
    if data.get("profiles"):
        w("## Where upbitws spends its time\n")
        w(
            "Sampled profile of the upbitws consumer process at saturation (py-spy, 1 kHz, "
            "event-loop work only; time in C code — msgspec decode and the Decimals it "
            "builds, aiohttp's frame parser — counts as the Python function that called it). "
            "Self: samples in that function; inclusive: with what it calls.\n"
        )
        for what, prof in data["profiles"].items():
            consumer, feed = what.split()
            cost = ((sat.get(consumer, {}).get(feed) or {}).get("cpu_s_per_m") or {}).get("median")
            w(f"**{what}** ({prof['tool']}, {prof['frames']:,} frames)\n")
            if cost:
                w(
                    f"µs per message = share × the consumer's {cost:.2f} CPU µs per message "
                    "(CPU s per million, above).\n"
                )
            w("| function | self | inclusive | self µs/msg | inclusive µs/msg |")
            w("|---|---|---|---|---|")
            for r in prof["rows"]:
                us = f"{r['self'] * cost:.2f} | {r['inclusive'] * cost:.2f}" if cost else "– | –"
                w(f"| `{r['function']}` | {r['self']:.1%} | {r['inclusive']:.1%} | {us} |")
            w("")
    w(ANALYSIS)
    return "\n".join(out) + "\n"


def _table(w: Any, consumers: list[str], sat: dict[str, Any], key: str, fmt: Any) -> None:
    w("| consumer | " + " | ".join(FEEDS) + " |")
    w("|---|" + "---|" * len(FEEDS))
    for c in consumers:
        cells = []
        for f in FEEDS:
            d = sat.get(c, {}).get(f)
            cells.append(fmt(d[key]) if d else ("n/a" if (c, f) in NOT_APPLICABLE else "–"))
        w(f"| {c} | " + " | ".join(cells) + " |")
    w("")


ANALYSIS = """## Reading the figures

- The bare loops are ceilings, not clients: no keepalive, reconnection, buffering or typed
  models. `picows-raw` and `aiohttp-raw` are at or near the feed's own speed on small
  frames. `aiohttp+msgspec` decodes to dicts of floats (the ceiling the goals name);
  `aiohttp+msgspec-Decimal` decodes every float as a `Decimal`, the ceiling for exact mode.
- Peers run as their users run them (overrides above): pyupbit's reader is a second
  process (both cores against the feed's one); cryptofeed runs on uvloop with yapic.json
  and asks for SIMPLE frames (shorter keys); ccxt's ticker/orderbook watchers conflate.
- At fixed rates the feed writes the frames due in each event-loop turn together, so a
  message may wait behind the ones ahead of it in its batch; the bare loops show that floor.

## Where upbitws's time goes, and what would close the gaps

From the profiles above (functions of `src/upbitws/`; the µs columns price each share):

1. **Exact numbers** — `Decoder.decode` (msgspec, in C) builds one `Decimal` per number: a
   30-level orderbook carries ~125, so decode is about three quarters of the exact
   orderbook consumer and exact costs over twice the float mode's CPU there (freeing those
   Decimals shows up again in the consumer's loop); on trades the Decimals cost about 1 µs a
   message. The Decimal ceiling (`aiohttp+msgspec-Decimal`) pays the same price, so exact
   mode is fairly judged against it; against the float ceiling it cannot reach 0.8x. To
   close: build orderbook (and ticker) Decimals lazily — decode units as floats or raw text
   and make the exact value on access — or let orderbooks default to float.
2. **Per-message bookkeeping on the reader** — `Connection._handle_frame` itself (counters,
   type lookups, two clock reads per frame) plus, for every live trade,
   `LatencyRecorder.record` (a `math.log` bucket per message), `TradeRecovery.on_trade` →
   `TradeDeduper.seen` (a set insert per trade, although duplicates only arise around a
   reconnect or backfill) and `MarketState.add_trade`: about 1.5 µs a trade, the largest
   part of the float-mode gap to the float ceiling. To close: sample the latency histogram
   (every Nth message, or integer bucket math), dedupe only while a gap or backfill window
   is open, and read the clocks once per socket read instead of per frame.
3. **The hop from reader to consumer** — `MessageBuffer.put` / `_wake` / `_conflates` /
   `get_nowait` and `Stream.__anext__`: about 0.3 µs a message. It also sets the latency:
   `ws.receive()` returns buffered frames without yielding, so the reader decodes every
   frame of a socket read before the consumer sees the first, and each message waits for
   its whole batch (p50 at 10k msgs/s: the bare loop's plus roughly batch × reader cost).
   To close: hand a message straight to a waiting consumer (yield after the first frame of
   a read when the consumer is idle), or decode in `__anext__` so the first is ready first.
4. **Transport** — aiohttp's `receive` / `data_received` cost what the aiohttp ceiling pays;
   the picows transport (architecture §4) would save the per-frame `await ws.receive()`.

Items 2–3 are the float-mode gap to the float ceiling; item 1 is the exact-mode gap. The
≥ 3x-the-fastest-peer goal is bounded on trades by cryptofeed (uvloop, SIMPLE keys,
yapic.json, no typed models): items 2–4 (and offering uvloop) address it.
"""


def render_client_md(client: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    w("# upbitws end to end vs the bare aiohttp + msgspec loop\n")
    w(
        f"Generated by `make bench` (`bench/peers.py`) on {client['generated']}, same run as "
        "`peers.md`: trade feed, frame on the socket → typed message in the consumer's "
        "`async for`. Medians (min–max) over the repeats.\n"
    )
    w("| figure | goal | " + " | ".join(client["rows"][0]["values"]) + " |")
    w("|---|---|" + "---|" * len(client["rows"][0]["values"]))
    for row in client["rows"]:
        w(f"| {row['figure']} | {row['goal']} | " + " | ".join(row["values"].values()) + " |")
    w("")
    rss = client.get("rss")
    if rss:
        w(f"## RSS over {rss['messages']:,} messages (upbitws exact, saturation)\n")
        w("| messages | RSS MB |")
        w("|---|---|")
        for n, mb in rss["samples"]:
            w(f"| {n:,} | {mb:.1f} |")
        w("")
        w(
            f"Growth after the first 10%: {rss['growth_mb']:+.1f} MB "
            f"({'flat' if rss['flat'] else 'NOT flat'}: goal ≤ 2 MB); "
            f"{rss['msgs_per_s']:,.0f} msgs/s over the run.\n"
        )
    return "\n".join(out) + "\n"


def client_figures(data: dict[str, Any], rss: dict[str, Any] | None) -> dict[str, Any]:
    sat = data["summary"]["saturation"]
    lat = data["summary"]["latency"]
    ratios = data["summary"]["ratios"]
    names = [c for c in (*UPBITWS, CEILING) if c in data["consumers"]]

    def cell(c: str, fn: Any) -> str:
        try:
            return str(fn(c))
        except (KeyError, TypeError):
            return "–"

    rows = [
        {
            "figure": "msgs/s, trade, saturation",
            "goal": "≥ 0.8x the bare loop",
            "values": {
                c: cell(c, lambda c: _fmt_rate(sat[c]["trade"]["msgs_per_s"])) for c in names
            },
        },
        {
            "figure": "upbitws / bare loop, trade",
            "goal": "≥ 0.8x",
            "values": {
                c: cell(c, lambda c: _fmt(ratios[c][CEILING]["trade"], 2, "x"))
                if c in UPBITWS
                else "1x"
                for c in names
            },
        },
        {
            "figure": "CPU s per million msgs, trade",
            "goal": "",
            "values": {
                c: cell(c, lambda c: _fmt(sat[c]["trade"]["cpu_s_per_m"], 2)) for c in names
            },
        },
        {
            "figure": "added latency p50 @10k msgs/s (µs)",
            "goal": "",
            "values": {c: cell(c, lambda c: _fmt_us(lat[c]["10000"]["p50"])) for c in names},
        },
        {
            "figure": "added latency p99 @10k msgs/s (µs)",
            "goal": "≤ 1000 µs",
            "values": {c: cell(c, lambda c: _fmt_us(lat[c]["10000"]["p99"])) for c in names},
        },
    ]
    out: dict[str, Any] = {"generated": data["generated"], "rows": rows}
    if rss and "error" not in rss and rss.get("rss_samples"):
        samples = rss["rss_samples"]
        base = samples[1][1] if len(samples) > 1 else samples[0][1]
        growth = samples[-1][1] - base
        out["rss"] = {
            "messages": rss["messages"],
            "samples": samples,
            "growth_mb": growth,
            "flat": growth <= 2.0,
            "msgs_per_s": rss.get("msgs_per_s") or 0.0,
        }
    return out


def chart(json_path: Path, png_path: Path) -> None:
    """Throughput per consumer and feed, and p99 latency at the fixed rates (bench venv)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(json_path.read_text())
    consumers = data["consumers"]
    sat, lat = data["summary"]["saturation"], data["summary"]["latency"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
    width = 0.8 / len(FEEDS)
    xs = range(len(consumers))
    for i, feed in enumerate(FEEDS):
        meds, lows, highs = [], [], []
        for c in consumers:
            s = sat.get(c, {}).get(feed, {}).get("msgs_per_s")
            meds.append(s["median"] if s else 0)
            lows.append(s["median"] - s["min"] if s else 0)
            highs.append(s["max"] - s["median"] if s else 0)
        ax1.bar(
            [x + (i - 1.5) * width for x in xs],
            meds,
            width,
            yerr=[lows, highs],
            label=feed,
            capsize=2,
        )
    ax1.set_yscale("log")
    ax1.set_ylabel("messages / s at saturation (log)")
    ax1.set_title("Throughput (median, min–max)")
    ax1.set_xticks(list(xs), consumers, rotation=35, ha="right")
    ax1.legend()
    width2 = 0.8 / len(RATES)
    timed = [c for c in consumers if c not in NO_LATENCY]
    xs2 = range(len(timed))
    for i, rate in enumerate(RATES):
        vals = []
        for c in timed:
            d = lat.get(c, {}).get(str(rate))
            vals.append(d["p99"]["median"] if d and d["p99"] else 0)
        ax2.bar(
            [x + (i - 0.5) * width2 for x in xs2], vals, width2, label=f"{rate // 1000}k msgs/s"
        )
    ax2.set_yscale("log")
    ax2.set_ylabel("p99 added latency, µs (log)")
    ax2.set_title("p99 latency, trade feed at fixed rates")
    ax2.set_xticks(list(xs2), timed, rotation=35, ha="right")
    ax2.legend()
    fig.suptitle(f"upbitws vs limits and peers — {data['generated']}, {data['machine']}")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


# -- entry points ------------------------------------------------------------------------


def main(out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_venv()
    consumers = selected()
    t0 = time.monotonic()
    with RestStub() as rest:
        plan = Plan(rest.url)
        plan.calibrate()
        runs = run_all(plan, consumers)
        rss = rss_run(plan) if "upbitws-exact" in consumers else None
        profiles = profile_run(plan, out_dir) if "upbitws-exact" in consumers else {}
    data: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "source": {"saturation": plan.sat.name, "fixed_rate": plan.lat.name},
        "calibration_msgs_per_s": plan.calibration,
        "scale": SCALE,
        "repeats": REPEATS,
        "consumers": consumers,
        "revision": revision(),
        "versions": versions(),
        "overrides": OVERRIDES,
        "not_applicable": {f"{c}/{f}": why for (c, f), why in NOT_APPLICABLE.items()},
        "summary": summarize(runs, consumers),
        "failures": [r for r in runs if "error" in r],
        "profiles": profiles,
        "runs": runs,
    }
    data["goals"] = goals(data["summary"], consumers)
    data["quiet_waited_s"] = QUIET.waited
    data["seconds"] = time.monotonic() - t0
    (out_dir / "peers.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "peers.md").write_text(render_md(data))
    client = client_figures(data, rss)
    client["rss_run"] = rss
    (out_dir / "client.json").write_text(json.dumps(client, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "client.md").write_text(render_client_md(client))
    done = subprocess.run(
        [str(VPY), str(Path(__file__).resolve()), "--chart", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        log("chart failed:", done.stderr.strip().splitlines()[-1:])
    log(
        f"wrote {out_dir}/peers.md, peers.json, peers.png, client.md, client.json "
        f"in {data['seconds']:.0f}s"
    )


def render(out_dir: Path) -> None:
    """Rewrite the notes from the JSON of the last run (text changes only; no measuring)."""
    data = json.loads((out_dir / "peers.json").read_text())
    (out_dir / "peers.md").write_text(render_md(data))
    rss = json.loads((out_dir / "client.json").read_text()).get("rss_run")
    client = client_figures(data, rss)
    client["rss_run"] = rss
    (out_dir / "client.json").write_text(json.dumps(client, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "client.md").write_text(render_client_md(client))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--chart":
        target = Path(sys.argv[2])
        chart(target / "peers.json", target / "peers.png")
    elif len(sys.argv) == 3 and sys.argv[1] == "--render":
        render(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results")
