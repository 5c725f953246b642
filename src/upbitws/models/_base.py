"""The common base of every model (architecture §2.5): frozen msgspec Structs, DEFAULT names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import msgspec
from typing_extensions import TypeVar

__all__ = ["Event", "N"]

#: The number type of a model: ``Decimal`` (exact, the default) or ``float`` (opt-in).
N = TypeVar("N", default=Decimal)


class Event(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag_field="type"):
    """A data frame from Upbit; ``type`` is the wire ``type`` (``"ticker"``, ``"candle.1m"``)."""

    #: SIMPLE-format key of each field (protocol §4 tables); set by every concrete model.
    __simple_keys__: ClassVar[dict[str, str]] = {}

    @property
    def type(self) -> str:
        """The Upbit data type, e.g. ``"ticker"`` or ``"candle.1m"``."""
        tag: Any = self.__struct_config__.tag
        return str(tag)
