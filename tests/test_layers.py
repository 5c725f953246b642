"""The architecture's arrows (architecture §1), enforced: an arrow only written down gets broken."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import upbitws

PACKAGE = Path(upbitws.__file__).parent

FORBIDDEN = {
    # sans-I/O core: no event loop, no sockets, no ambient clock or randomness (architecture §2.1)
    "protocol": {
        "asyncio",
        "aiohttp",
        "time",
        "random",
        "uuid",
        "upbitws.client",
        "upbitws.simulator",
        "upbitws.cli",
        "upbitws.recording",
        "socket",
        "zstandard",  # the recording format's pure part takes decompressed bytes
    },
    "models": {
        "asyncio",
        "aiohttp",
        "time",
        "random",
        "upbitws.client",
        "upbitws.simulator",
        "upbitws.protocol",
        "upbitws.cli",
    },
    "simulator": {"upbitws.client", "upbitws.cli", "upbitws.recording"},
    "client": {"upbitws.simulator", "upbitws.cli", "upbitws.recording"},
    # operations sit on top of client/: I/O only, the alert decisions live in protocol/alerts
    "metrics": {"upbitws.simulator", "upbitws.cli"},
    # on top of client/; the simulator reads recordings through protocol/recordfile.py
    "recording": {"upbitws.simulator", "upbitws.cli"},
    # on top of client/; only redis/_client.py touches redis-py (one boundary)
    "redis": {"upbitws.simulator", "upbitws.cli"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(layer: str) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in _imports(path)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_follow_the_arrows(layer: str) -> None:
    assert (PACKAGE / layer).is_dir()
    assert _violations(layer) == []


def test_only_one_module_imports_redis_py() -> None:
    importers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if any(n == "redis" or n.startswith("redis.") for n in _imports(path))
    ]
    assert importers == ["redis/_client.py"]


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("import asyncio\nfrom upbitws.client import stream\n")
    assert _imports(bad) == {"asyncio", "upbitws.client"}


def test_public_exports_are_importable_and_sorted() -> None:
    for name in upbitws.__all__:
        assert hasattr(upbitws, name), name
    assert sorted(upbitws.__all__) == sorted(set(upbitws.__all__))
    for name in (
        "connect",
        "Stream",
        "decode",
        "encode",
        "to_dict",
        "Credentials",
        "ticker",
        "trade",
        "orderbook",
        "candle",
        "my_order",
        "my_asset",
        "announcement",
        "UpbitWSError",
        "MessageDecodeError",
        "SubscriptionError",
    ):
        assert name in upbitws.__all__


def test_every_module_declares_all() -> None:
    missing = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "__main__.py"
        and "__all__" not in p.read_text(encoding="utf-8")
        and p.read_text(encoding="utf-8").strip()
    ]
    assert missing == []
