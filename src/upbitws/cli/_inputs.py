"""Checks of command-line input that end in one line and exit 2 (never a traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from collections.abc import Iterator
from enum import StrEnum
from urllib.parse import urlsplit

import typer

from upbitws.exceptions import InvalidURLError
from upbitws.protocol.endpoints import check_url

__all__ = ["LogLevel", "check_duration", "check_rest_url", "check_ws_url", "stop_on_signals"]


class LogLevel(StrEnum):
    """Levels accepted by ``--log-level`` (case-insensitive on the command line)."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def _check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    parts = urlsplit(value.strip())
    try:
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        port = -1
    if parts.scheme.lower() not in schemes or not parts.hostname or port == -1:
        raise typer.BadParameter(f"{value!r} is not a {' or '.join(schemes)} URL, e.g. {example}")
    return value.strip()


def check_ws_url(value: str | None) -> str | None:
    """``--url`` of a WebSocket endpoint: ``ws://`` or ``wss://`` with a host (the library's
    own check, so the CLI gives the same "did you mean ws://HOST:PORT/websocket/v1?" hint)."""
    if value is None:
        return None
    try:
        return check_url(value, "--url")
    except InvalidURLError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--url ")) from None


def check_rest_url(value: str | None) -> str | None:
    """``--url`` that may be a WebSocket URL (its REST origin is used) or a REST origin."""
    if value is None:
        return None
    return _check_url(value, ("ws", "wss", "http", "https"), "https://api.upbit.com")


def check_duration(value: float | None) -> float | None:
    """``--duration``: a positive finite number of seconds (omit it to run until Ctrl-C)."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise typer.BadParameter(f"{value:g} is not a positive number of seconds")
    return value


@contextlib.contextmanager
def stop_on_signals(deadline: asyncio.Timeout) -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM expire ``deadline`` now: the command ends the way
    ``--duration`` ends it, final summary included."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, deadline.reschedule, loop.time())
    try:
        yield
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
