"""Help that reads well at 80 columns, and every documented input mistake as one line, exit 2."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest

from cli._proc import ENV, UPBITWS, arun, run
from upbitws.simulator import Simulator

COMMANDS = [
    "stream",
    "demo",
    "watch",
    "markets",
    "record",
    "replay",
    "export",
    "collect",
    "tail",
    "simulate",
]
_PLACEHOLDER = re.compile(r"<(str|int|float|bool|list\[[a-z]+\])>|\b(TEXT|FLOAT|INTEGER|BOOLEAN)\b")


def _check_help(text: str) -> None:
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    assert not _PLACEHOLDER.search(text), _PLACEHOLDER.search(text)
    usage = lines[0]
    assert usage.startswith("Usage: upbitws")
    assert "{" not in usage
    assert "[[" not in usage
    assert "]...]" not in usage
    assert "…" not in text.replace("candle.1s … candle.240m", "")


def _broken_words(text: str) -> list[str]:
    """Lines that end inside a hyphenated word (the wrap cut it)."""
    return [line for line in text.splitlines() if re.search(r"[A-Za-z0-9]-$", line)]


def test_top_help_lists_commands_whole_and_version() -> None:
    result = run("--help")
    assert result.returncode == 0
    _check_help(result.stdout)
    for command in COMMANDS:
        assert re.search(rf"^  {command} +\S", result.stdout, re.M), command
    assert "..." not in result.stdout.split("Commands:")[1]  # no short help cut off
    version = run("--version")
    assert version.returncode == 0
    assert re.fullmatch(r"upbitws \d+\.\d+\.\d+\S*\n", version.stdout)


@pytest.mark.parametrize(
    "command",
    COMMANDS,
)
def test_every_help_reads_well_at_80_columns(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    _check_help(result.stdout)
    assert "--jsonl <" not in result.stdout
    assert _broken_words(result.stdout) == []


BAD_INPUTS = [
    (["stream", "orderbook", "KRW-BTC", "--level", "abc"], "level 'abc' is not a number"),
    (["stream", "ticker", "KRW-BTC", "--log-level", "loud"], "'loud' is not one of"),
    (["stream", "ticker", "KRW-BTC", "--duration", "0"], "0 is not a positive number"),
    (["stream", "ticker", "KRW-BTC", "--duration", "-2"], "-2 is not a positive number"),
    (["stream", "ticker", "KRW-BTC", "--duration", "soon"], "Invalid value for '--duration'"),
    (
        ["stream", "ticker", "KRW-BTC", "--url", "api.upbit.com"],
        "'api.upbit.com' has no ws:// or wss:// scheme: did you mean ws://api.upbit.com/websocket/v1?",
    ),
    (["stream", "ticker", "KRW-BTC", "--url", "ws://:99/x"], "'ws://:99/x' has no host ("),
    (["stream", "ticker"], "ticker needs at least one code"),
    (["stream", "orderbook", "KRW-BTC", "--depth", "20"], "1, 5, 15, 30"),
    (["stream", "tickr", "KRW-BTC"], "unknown subscription type 'tickr'"),
    (["demo", "--duration", "0"], "0 is not a positive number"),
    (["watch", "KRW-BTC", "--duration", "0"], "0 is not a positive number"),
    (["watch", "KRW-BTC", "--depth", "40"], "between 1 and 30"),
    (["watch", "KRW-BTC", "--types", "ticker,candles"], "subset of ticker,trade,orderbook"),
    (
        ["watch", "KRW-BTC", "--url", "https://api.upbit.com"],
        "is an HTTPS URL; WebSocket endpoints start with ws:// or wss://: "
        "did you mean wss://api.upbit.com/websocket/v1?",
    ),
    (["watch"], "Missing argument"),
    (["markets", "--url", "ftp://x"], "is not a ws or wss or http or https URL"),
    (["stream", "ticker", "KRW-BTC", "--bogus"], "No such option"),
    (["nosuchcommand"], "No such command"),
]


@pytest.mark.parametrize(("args", "says"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert says in result.stderr
    assert "Traceback" not in result.stderr


async def test_unknown_code_in_stream_is_named_and_exit_2() -> None:
    async with Simulator(markets=["KRW-BTC"]) as sim:
        result = await arun("stream", "trade", "KRW-BTC", "KRW-NOPE", "--url", sim.ws_url)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'KRW-NOPE'" in result.stderr


async def _stream_until(sim: Simulator, sig: signal.Signals | None) -> tuple[int, str]:
    args = ["stream", "trade", "KRW-BTC", "--url", sim.ws_url]
    if sig is None:
        args += ["--duration", "2"]
    proc = await asyncio.create_subprocess_exec(
        *UPBITWS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ENV
    )
    try:
        if sig is not None:
            await asyncio.sleep(2.5)
            proc.send_signal(sig)
        async with asyncio.timeout(20):
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_stream_signal_prints_the_same_final_summary_as_duration(
    sig: signal.Signals,
) -> None:
    async with Simulator(markets=["KRW-BTC"], trade_rate=3.0) as sim:
        timed = await _stream_until(sim, None)
        signalled = await _stream_until(sim, sig)
    assert timed[0] == signalled[0] == 0, signalled[1]
    for _, err in (timed, signalled):
        last = err.strip().splitlines()[-1]
        assert last.startswith("[upbitws] state=")
        assert "msgs_in=" in last
        assert "Traceback" not in err


def test_bare_command_prints_its_usage() -> None:
    result = run()
    assert result.stdout.startswith("Usage: upbitws [OPTIONS] COMMAND [ARGS]...")
    assert "error" not in result.stderr
