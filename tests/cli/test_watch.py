"""``upbitws watch`` and ``upbitws demo`` frames at 80×24 and 140×45, rendered with rich's
recording console from a real stream against the simulator; and the commands as run."""

from __future__ import annotations

import asyncio
import io
import re
import signal

import pytest
from rich.console import Console

import upbitws
from cli._proc import ENV, UPBITWS, arun
from upbitws.cli._render import num
from upbitws.cli._view import WatchView
from upbitws.cli.demo import MARKETS, run_demo
from upbitws.cli.watch import subscriptions_for
from upbitws.simulator import Simulator

SIZES = [(80, 24), (140, 45)]
CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "USDT-BTC"]


def _console(width: int, height: int) -> Console:
    return Console(record=True, width=width, height=height, file=io.StringIO(), color_system=None)


def _check_frame(text: str, width: int, height: int, view: WatchView) -> None:
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= height - 1, f"{len(lines)} lines for a {height}-line terminal"
    assert all(len(line) <= width for line in lines)
    assert "…" not in text  # nothing cut with an ellipsis
    assert "connection" in text  # the stats panel is there
    assert "gaps" in text
    assert "latency" in text
    for code in view.codes:
        price = view.rows[code].price
        assert price is not None, code
        # the whole number, bounded by spaces: never '140,030,…' nor glued to a neighbour
        assert re.search(rf"(^|\s){re.escape(num(price))}(\s|$)", text, re.M), (code, text)
    book = view.book
    assert book is not None
    assert num(book.asks[0].price) in text
    assert num(book.bids[0].price) in text


async def _filled_view() -> tuple[WatchView, upbitws.StatsSnapshot]:
    subs = subscriptions_for(CODES, ["ticker", "trade", "orderbook"], 10)
    async with Simulator(markets=CODES, trade_rate=3.0) as sim:
        view = WatchView(CODES, title="upbitws watch", url=sim.ws_url, depth=10)
        async with upbitws.connect(subs, url=sim.ws_url, include_events=True) as stream:
            async with asyncio.timeout(20):
                async for item in stream:
                    view.update(item)
                    rows = view.rows.values()
                    if all(r.price is not None and r.bid is not None for r in rows) and (
                        len(view.tape) >= 12
                    ):
                        break
            return view, stream.stats()


@pytest.mark.parametrize(("width", "height"), SIZES)
async def test_watch_frame_fits_and_cuts_no_number(width: int, height: int) -> None:
    view, stats = await _filled_view()
    console = _console(width, height)
    console.print(view.render(stats, width, height))
    text = console.export_text()
    _check_frame(text, width, height, view)
    if width >= 140:  # room for every column and a deep ladder
        for header in ("best bid", "best ask", "spread", "volume 24h", "trades/s", "side"):
            assert header in text
        assert text.count("\n") >= 30


@pytest.mark.parametrize(("width", "height"), SIZES)
async def test_demo_frame_fits_and_attributes_its_fault(width: int, height: int) -> None:
    console = _console(width, height)
    code = await run_demo(3.0, 1, console)
    assert code == 0
    text = console.export_text()
    assert text.count("upbitws demo ·") == 1  # the final frame is printed once
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= height - 1
    assert all(len(line) <= width for line in lines)
    assert "…" not in text
    assert "connection" in text
    assert "by the demo's faults" in text
    assert "idle timeout" not in text
    assert "healed by snapshot" in text
    for code_ in MARKETS[:4]:
        assert code_ in text


async def test_watch_command_runs_and_summarizes() -> None:
    async with Simulator(markets=["KRW-BTC", "KRW-ETH"], trade_rate=3.0) as sim:
        result = await arun("watch", "KRW-BTC", "KRW-ETH", "--url", sim.ws_url, "--duration", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("upbitws watch ·") == 1
    assert "KRW-ETH" in result.stdout
    assert result.stderr.startswith("watch finished after 2")
    assert "messages" in result.stderr


async def test_watch_unknown_code_is_one_line_exit_2() -> None:
    async with Simulator(markets=["KRW-BTC"]) as sim:
        result = await arun("watch", "KRW-NOPE", "--url", sim.ws_url, "--duration", "5")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'KRW-NOPE'" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_watch_signal_ends_with_the_summary(sig: signal.Signals) -> None:
    async with Simulator(markets=["KRW-BTC"], trade_rate=3.0) as sim:
        proc = await asyncio.create_subprocess_exec(
            *UPBITWS,
            "watch",
            "KRW-BTC",
            "--url",
            sim.ws_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=ENV,
        )
        try:
            await asyncio.sleep(2.5)
            proc.send_signal(sig)
            async with asyncio.timeout(15):
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert err.decode().startswith("watch finished after"), err.decode()
    assert out.decode().count("upbitws watch ·") == 1
