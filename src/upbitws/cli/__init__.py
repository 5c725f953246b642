"""The ``upbitws`` command line (needs the ``[cli]`` extra: typer and rich)."""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``upbitws`` command."""
    from upbitws.cli._app import build_app

    build_app()()
