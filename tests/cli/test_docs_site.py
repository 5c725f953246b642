"""The documentation site builds with --strict, its CLI page is the commands' own help, and the
README front door says what is true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_cli_reference_is_generated_from_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_cli_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in ("stream", "watch", "markets", "demo", "simulate"):
        assert f"## upbitws {command}\n" in page


def test_site_builds_strict(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    api = (tmp_path / "api" / "index.html").read_text(encoding="utf-8")
    assert "StreamOptions" in api
    assert "check_markets" in api  # README's options table, included by the hook
    cli = (tmp_path / "cli" / "index.html").read_text(encoding="utf-8")
    assert "upbitws watch" in cli
    assert (tmp_path / "concepts" / "index.html").is_file()
    assert (tmp_path / "simulator" / "index.html").is_file()


def test_readme_is_a_front_door_that_says_what_is_true() -> None:
    assert "pip install -e '.[cli]'" in README  # from source
    assert "unsubscribe() likewise" not in README
    assert 'unsubscribe("orderbook", "KRW-XRP")' in README
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in re.findall(r"upbitws\[(\w+)\]", README):
        assert extra in extras, extra
    assert "[all]" not in README  # it advertised extras no code used
    for page in re.findall(r"\]\((docs/[\w./-]+\.md)\)", README):
        assert (ROOT / page).is_file(), page
    assert len(README.splitlines()) < 200
