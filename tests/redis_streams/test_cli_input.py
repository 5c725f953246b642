"""`upbitws collect` / `upbitws tail` input mistakes: exit 2 with one line, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from upbitws.cli._app import build_app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--markets", "KRW-BTC", "--quote", "KRW"], "exactly one of"),
        ([], "exactly one of"),
        (["--markets", "KRW-BTC", "--types", "candle"], "bad --types"),
        (["--markets", "KRW-BTC", "--shards", "0"], "--shards"),
        (["--markets", "KRW-BTC", "--redis", "http://x"], "bad Redis URL"),
        (["--markets", "KRW-BTC", "--group", "a:b"], "bad group name"),
    ],
)
def test_collect_input_mistakes(args: list[str], message: str) -> None:
    base = {"--redis": "redis://127.0.0.1:1/0", "--group": "g"}
    for i in range(0, len(args), 2):
        base.pop(args[i], None)
    argv = ["collect", *[x for kv in base.items() for x in kv], *args]
    result = CliRunner().invoke(build_app(), argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_tail_input_mistakes() -> None:
    argv = ["tail", "candle", "KRW-BTC", "--redis", "redis://127.0.0.1:1/0", "--group", "g"]
    result = CliRunner().invoke(build_app(), argv)
    assert result.exit_code == 2
    assert "bad types" in result.output
