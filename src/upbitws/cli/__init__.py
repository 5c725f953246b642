"""The ``upbitws`` command line (needs the ``[cli]`` extra: typer and rich)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``upbitws`` command."""
    try:
        from upbitws.cli._app import build_app
    except ImportError as exc:  # typer / rich missing: say which extra, not a traceback
        if exc.name not in ("typer", "rich", "click"):
            raise
        print(
            "error: the upbitws command needs the optional CLI dependencies: "
            "pip install 'upbitws[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    from upbitws.cli._run import run_app

    raise SystemExit(run_app(build_app()))
