"""The ``zstandard`` import, with an explanatory error when the ``[record]`` extra is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from upbitws.exceptions import MissingExtraError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["zstd"]


def zstd() -> ModuleType:
    try:
        import zstandard
    except ImportError as exc:
        raise MissingExtraError("recording and replay", "record") from exc
    return zstandard
