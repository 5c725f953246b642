"""``upbitws record``: record a stream into a directory until stopped (docs/recording.md)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from upbitws.cli._app import _logging, _run, _subscriptions
from upbitws.client.stream import connect
from upbitws.credentials import Credentials
from upbitws.exceptions import ConfigurationError, UpbitWSError
from upbitws.protocol.subscriptions import is_private

__all__ = ["record"]


def record(
    types: Annotated[
        str,
        typer.Argument(
            metavar="TYPES", help="One type or several comma-separated: trade,ticker,orderbook"
        ),
    ],
    codes: Annotated[
        list[str] | None, typer.Argument(metavar="[CODE]...", help="Markets, e.g. KRW-BTC")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Recording directory")] = Path("recording"),
    url: Annotated[
        str | None, typer.Option(help="Public WebSocket URL (default: the region's host)")
    ] = None,
    region: Annotated[str, typer.Option(help="kr, sg, id or th")] = "kr",
    depth: Annotated[int | None, typer.Option(help="Orderbook depth: 1, 5, 15 or 30")] = None,
    level: Annotated[str | None, typer.Option(help="Orderbook price grouping (KRW)")] = None,
    rotate_minutes: Annotated[
        float, typer.Option(help="Start a new file after this many minutes (0: never)")
    ] = 60.0,
    rotate_mb: Annotated[
        float, typer.Option(help="Start a new file after this many MB written (0: never)")
    ] = 256.0,
    include_private: Annotated[
        bool,
        typer.Option(
            "--include-private", help="Allow private types (your orders and assets) in the file"
        ),
    ] = False,
    ping_interval: Annotated[float, typer.Option(help="Seconds between pings")] = 10.0,
    pong_timeout: Annotated[float, typer.Option(help="Seconds to wait for a pong")] = 30.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C)")
    ] = None,
    tee: Annotated[
        Path | None,
        typer.Option(help="Also write every item the recorder yielded as JSON lines here"),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level on stderr")] = "WARNING",
) -> None:
    """Record Upbit data into a directory (zstd files, rotated) until SIGINT/SIGTERM.

    Started again on the same directory with the same subscriptions, it continues the
    recording and fills the trade gap since the last recorded trade from REST. Replay with
    ``upbitws replay DIR``, export with ``upbitws export DIR --to parquet --out OUT``.
    """
    _logging(log_level)
    try:
        subs = _subscriptions(types, codes or [], depth, level)
        private = any(is_private(s.type) for s in subs)
        if private and not include_private:
            raise ConfigurationError(
                "private types (your orders and assets) are recorded only with --include-private"
            )
        if rotate_minutes < 0 or rotate_mb < 0:
            raise ConfigurationError("--rotate-minutes and --rotate-mb must be >= 0")
        credentials = Credentials.from_env() if private else None
        options: dict[str, Any] = {
            "url": url,
            "region": region,
            "include_events": True,
            "ping_interval": ping_interval,
            "pong_timeout": pong_timeout,
        }
        stream = connect(subs, credentials=credentials, **options)
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    code = _run(_record(stream, out, include_private, rotate_minutes, rotate_mb, duration, tee))
    raise typer.Exit(code)


async def _record(
    stream: Any,
    out: Path,
    include_private: bool,
    rotate_minutes: float,
    rotate_mb: float,
    duration: float | None,
    tee_path: Path | None,
) -> int:
    from upbitws.recording import Recorder, item_to_dict
    from upbitws.recording._serial import EVENT_CLASSES

    events = frozenset(EVENT_CLASSES.values())
    me = asyncio.current_task()
    assert me is not None
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            me.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tee: IO[str] | None = None
    try:
        recorder = Recorder(
            stream,
            out,
            include_private=include_private,
            rotate_minutes=rotate_minutes or None,
            rotate_mb=rotate_mb or None,
        )
        if tee_path is not None:
            tee = tee_path.open("a", encoding="utf-8", buffering=1)  # a line survives SIGKILL
        async with recorder:
            if recorder.resumed:
                print(
                    f"[upbitws] continuing {out}: trades after {recorder.resumed}", file=sys.stderr
                )
            print(f"[upbitws] recording into {out}", file=sys.stderr, flush=True)
            try:
                async with asyncio.timeout(duration):
                    async for item in recorder:
                        if tee is not None:
                            tee.write(_json(item_to_dict(item)))
                        if type(item) in events:
                            print(f"[upbitws] {item}", file=sys.stderr, flush=True)
            except TimeoutError:
                pass
            except asyncio.CancelledError:
                if not stopping:
                    raise
                me.uncancel()
            print(
                f"[upbitws] {recorder.bytes_written} bytes written; {recorder.stats().summary()}",
                file=sys.stderr,
            )
    except UpbitWSError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigurationError) else 1
    finally:
        if tee is not None:
            tee.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
    return 0


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, separators=(",", ":")) + "\n"
