"""What a frame that failed to decode was about: its ``(type, code)`` pairs, read tolerantly.

A frame that the codec rejects (a value Upbit added that no model knows, a truncated or
corrupted frame) is still announced as a gap for what it carried (docs/hostile-input.md).
:func:`peek` reads only ``type`` / ``code`` and their SIMPLE twins ``ty`` / ``cd``
(protocol §4.1) from a frame, a JSON_LIST / SIMPLE_LIST array of them, or, when the frame is
not JSON at all, from a bounded scan of its bytes. It never raises: every input gives a
(possibly empty) tuple.

Off the hot path: it runs only for frames already known to be bad.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

import msgspec

__all__ = ["PeekedKey", "peek"]

#: At most this many keys are reported for one frame (a list frame of junk cannot make the
#: caller announce without bound).
MAX_KEYS: Final = 64
#: Values longer than this are not a type or a market code.
MAX_VALUE: Final = 64


class PeekedKey(NamedTuple):
    """One object of a frame: its ``type`` and ``code``, ``None`` where unreadable.

    ``control`` is true for status / error / LIST_SUBSCRIPTIONS frames (no market data)."""

    type: str | None
    code: str | None
    control: bool = False


_ABSENT: Final = msgspec.Raw()


class _Head(msgspec.Struct):
    """The few keys that say what a frame is; every other key is skipped unread."""

    type: msgspec.Raw = _ABSENT
    code: msgspec.Raw = _ABSENT
    ty: msgspec.Raw = _ABSENT
    cd: msgspec.Raw = _ABSENT
    status: msgspec.Raw = _ABSENT
    error: msgspec.Raw = _ABSENT
    method: msgspec.Raw = _ABSENT
    mthd: msgspec.Raw = _ABSENT


_HEADS: Final = msgspec.json.Decoder(_Head | list[_Head])
_TEXT: Final = msgspec.json.Decoder(str)
# Fallback for frames that are not JSON: "type"/"ty" starts an object, "code"/"cd" names its
# code (Upbit writes type first, protocol §2.4). Bounded: no backtracking, short values.
_SCAN: Final = re.compile(rb'"(type|ty|code|cd)"[ \t\r\n]*:[ \t\r\n]*"([^"\\]{1,64})"')
_SCAN_LIMIT: Final = 1 << 20  # scan at most the first MiB of a broken frame


def _text(raw: msgspec.Raw) -> str | None:
    data = bytes(raw)
    if not data.startswith(b'"') or len(data) > MAX_VALUE * 6 + 2:
        return None
    try:
        value = _TEXT.decode(data)
    except (msgspec.DecodeError, ValueError):
        return None
    return value if 0 < len(value) <= MAX_VALUE else None


def _key(head: _Head) -> PeekedKey:
    type_ = _text(head.type) or _text(head.ty)
    code = _text(head.code) or _text(head.cd)
    control = type_ is None and (
        len(head.status) > 0 or len(head.error) > 0 or len(head.method) > 0 or len(head.mthd) > 0
    )
    return PeekedKey(type_, code, control)


def _scan(data: bytes) -> tuple[PeekedKey, ...]:
    keys: list[list[str | None]] = []
    for match in _SCAN.finditer(data, 0, _SCAN_LIMIT):
        name = match[1]
        value = match[2].decode("utf-8", "replace")
        if name in (b"type", b"ty"):
            if len(keys) == MAX_KEYS:
                break
            keys.append([value, None])
        elif not keys:
            keys.append([None, value])
        elif keys[-1][1] is None:
            keys[-1][1] = value
    return tuple(PeekedKey(t, c) for t, c in keys)


def peek(frame: bytes | bytearray | memoryview | str) -> tuple[PeekedKey, ...]:
    """The ``(type, code)`` of each object in ``frame``; ``()`` when nothing is readable."""
    try:
        data = frame.encode("utf-8", "replace") if isinstance(frame, str) else bytes(frame)
    except (TypeError, ValueError):  # pragma: no cover - defensive: a frame is bytes or str
        return ()
    try:
        heads = _HEADS.decode(data)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return _scan(data)
    if isinstance(heads, _Head):
        return (_key(heads),)
    return tuple(_key(head) for head in heads[:MAX_KEYS])
