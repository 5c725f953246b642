"""Frame formats (§3.1, §4.1): the four names, in one place for the client and the simulator.

The format belongs to the connection, not to a subscription: every request (and a
``LIST_SUBSCRIPTIONS`` that carries one) switches all of the connection's streams (§3.5).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["FORMATS", "LIST_FORMATS", "SIMPLE_FORMATS", "Format"]


class Format(StrEnum):
    """Frame format; it applies to the whole connection (§3.1)."""

    DEFAULT = "DEFAULT"  # full keys, one object a frame
    SIMPLE = "SIMPLE"  # short keys, one object a frame
    JSON_LIST = "JSON_LIST"  # a JSON array of DEFAULT objects a frame (§2.5)
    SIMPLE_LIST = "SIMPLE_LIST"  # a JSON array of SIMPLE objects a frame


#: Every format name (a StrEnum member equals and hashes as its string).
FORMATS: Final[frozenset[str]] = frozenset(Format)
#: Formats whose frames are JSON arrays.
LIST_FORMATS: Final[frozenset[str]] = frozenset({Format.JSON_LIST, Format.SIMPLE_LIST})
#: Formats with SIMPLE (abbreviated) keys.
SIMPLE_FORMATS: Final[frozenset[str]] = frozenset({Format.SIMPLE, Format.SIMPLE_LIST})
