"""Helpers for recording tests: the ``upbitws`` CLI as a subprocess, JSON-normalised items."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from upbitws.recording import item_to_dict

SRC = Path(__file__).resolve().parents[2] / "src"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "upbitws", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}


async def spawn(*args: str, stdout: Any = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *cli(*args), env=env(), stdout=stdout, stderr=asyncio.subprocess.PIPE
    )


def normal(item: Any) -> Any:
    """An item as its JSON form (what a tee file holds, read back)."""
    return json.loads(json.dumps(item_to_dict(item)))


def tee_lines(path: Path) -> list[Any]:
    """Complete lines of a tee file (a SIGKILLed writer may leave half a line)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n")[:-1]]


async def wait_for(predicate: Any, what: str, within: float = 20.0) -> None:
    """Poll ``predicate`` (a file another process writes) until it holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
