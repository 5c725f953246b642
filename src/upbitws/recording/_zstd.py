"""The ``zstandard`` import, with an explanatory error when the ``[record]`` extra is missing."""

from __future__ import annotations

from types import ModuleType

from upbitws.exceptions import MissingExtraError

__all__ = ["zstd"]


def zstd() -> ModuleType:
    try:
        import zstandard
    except ImportError as exc:
        raise MissingExtraError("recording and replay", "record") from exc
    return zstandard
