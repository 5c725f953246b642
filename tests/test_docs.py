"""The README says what the code does: every option, with its default."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from upbitws import StreamOptions

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _option_rows() -> dict[str, str]:
    section = README.split("### Options", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `(\w+)` \| (.*?) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_stream_option_is_documented_with_its_default() -> None:
    rows = _option_rows()
    for field in dataclasses.fields(StreamOptions):
        assert field.name in rows, f"README options table lacks {field.name}"
        default = field.default
        if isinstance(default, bool | int | float) and not isinstance(default, bool):
            assert str(default) in rows[field.name].replace("_", ""), field.name
        elif isinstance(default, bool):
            assert f"`{default}`" in rows[field.name], field.name
        elif isinstance(default, str):
            assert default in rows[field.name], field.name


def test_no_documented_option_is_unknown_to_the_code() -> None:
    known = {f.name for f in dataclasses.fields(StreamOptions)} | {"format", "credentials"}
    assert set(_option_rows()) <= known
