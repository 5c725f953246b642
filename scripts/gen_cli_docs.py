"""Write docs/cli.md from the commands' own --help (80 columns); ``--check`` only compares.

The CLI reference is generated, never written by hand, so it cannot drift from the code:
tests/cli/test_docs_site.py runs ``--check``; ``make docs`` regenerates it first.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli.md"
COMMANDS = ["stream", "watch", "markets", "demo", "simulate"]

INTRO = """\
# Command line

`upbitws` needs the `[cli]` extra (`pip install 'upbitws[cli]'`). Input mistakes print one line
on stderr and exit with code 2; `--version` prints the version. Times shown to people are in KST
with the offset written; numbers have thousands separators and every digit the exchange sent.

This page is generated from the commands themselves (`python scripts/gen_cli_docs.py`).
"""


def _help(args: list[str]) -> str:
    from upbitws.cli._app import build_app
    from upbitws.cli._run import run_app

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_app(build_app(), [*args, "--help"])
    if code != 0:
        raise SystemExit(f"upbitws {' '.join(args)} --help exited {code}")
    return out.getvalue().rstrip() + "\n"


def render() -> str:
    os.environ["COLUMNS"] = "80"  # the width the reference is written for
    parts = [INTRO, "## upbitws\n", "```text\n" + _help([]) + "```\n"]
    for command in COMMANDS:
        parts += [f"## upbitws {command}\n", "```text\n" + _help([command]) + "```\n"]
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/gen_cli_docs.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
