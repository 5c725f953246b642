"""Run the ``upbitws`` command as users do: a child process, always reaped by the caller."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass

UPBITWS = [sys.executable, "-m", "upbitws"]
#: No real keys from the developer's shell, a fixed width so help and tables are comparable.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("UPBIT_OPEN_API")} | {
    "COLUMNS": "80",
    "NO_COLOR": "1",
}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str, timeout: float = 30, env: dict[str, str] | None = None) -> Result:
    """Run ``upbitws ARGS`` to completion (blocking; for tests that need no event loop)."""
    done = subprocess.run(
        [*UPBITWS, *args], capture_output=True, text=True, timeout=timeout, env=env or ENV
    )
    return Result(done.returncode, done.stdout, done.stderr)


async def arun(*args: str, timeout: float = 30, env: dict[str, str] | None = None) -> Result:  # noqa: ASYNC109
    """Run ``upbitws ARGS`` from an async test (the in-process simulator keeps serving)."""
    proc = await asyncio.create_subprocess_exec(
        *UPBITWS,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or ENV,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())
