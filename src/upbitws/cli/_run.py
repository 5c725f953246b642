"""Running the typer app: readable help and one-line input errors.

* Input mistakes end in one line on stderr and exit code 2, never a usage panel or traceback.
* Help names values, not types: an option that takes a value shows its name (``--duration
  DURATION``) instead of a type placeholder (``<float>``), flags show nothing (no
  ``--jsonl <bool>`` that invites ``--jsonl true``), and the usage line reads ``TYPE
  [CODE]...`` rather than ``{TYPE} [[CODE]...]...``.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import typer.main

__all__ = ["polish", "run_app"]

# typer vendors click (``typer._click``) in recent releases and imports it in older ones: take
# the base class of its usage errors from the public BadParameter either way.
_CLICK_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def _usage_name(param: Any) -> Any:
    def name() -> str:
        shown = str(param.metavar or param.name).strip("[].").upper()
        shown = shown if param.required else f"[{shown}]"
        return shown + ("..." if param.nargs != 1 else "")

    return name


def polish(command: Any) -> Any:
    """Give every value-taking option of ``command`` (and its subcommands) a named metavar and
    every argument a plain usage name; return ``command``."""
    for sub in getattr(command, "commands", {}).values():
        polish(sub)
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            # typer's hooks for the usage line and the Arguments section (instance overrides)
            param._usage_display_name = _usage_name(param)
            param._rich_display_name = _usage_name(param)
            param.display_type_rich = lambda ctx: None
        elif not getattr(param, "is_flag", False) and param.metavar is None:
            desc = getattr(param, "type_descriptor", None)  # typer >= 0.2x; click: param.type
            kind = desc if desc is not None and desc.is_choice else getattr(param, "type", None)
            choices = getattr(kind, "choices", None)
            if choices:
                values = [getattr(c, "value", c) for c in choices]
                param.metavar = "[" + "|".join(map(str, values)) + "]"
            else:
                param.metavar = (param.name or "value").upper()
    return command


def run_app(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run ``app``; return its exit code. A usage error prints ``error: <command>: <what>``."""
    command = polish(typer.main.get_command(app))
    try:
        result: Any = command.main(args=args, prog_name="upbitws", standalone_mode=False)
    except _CLICK_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare 'upbitws': the help, as is
            print(exc.format_message())  # type: ignore[attr-defined]
            return int(getattr(exc, "exit_code", 2))
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        message = exc.format_message()  # type: ignore[attr-defined]
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {where}{message}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        return 130
    return result if isinstance(result, int) else 0
