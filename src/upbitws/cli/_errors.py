"""Input mistakes end in one line on stderr and exit code 2, never a usage panel or traceback."""

from __future__ import annotations

import sys
from typing import Any

import typer

__all__ = ["run_app"]

# typer vendors click (``typer._click``) in recent releases and imports it in older ones: take
# the base class of its usage errors from the public BadParameter either way.
_CLICK_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def run_app(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run ``app``; return its exit code. A usage error prints ``error: <command>: <what>``."""
    try:
        result: Any = app(args=args, standalone_mode=False)
    except _CLICK_ERROR as exc:
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        message = exc.format_message()  # type: ignore[attr-defined]
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {where}{message}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        return 130
    return result if isinstance(result, int) else 0
