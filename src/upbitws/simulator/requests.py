"""Server-side request validation, in Upbit's order and with Upbit's error names (§3, §6, §12.4).

This is deliberately *not* the client's validator (``upbitws.protocol.subscriptions``): the
client refuses more than the server does. The server answers the first failing check of:

1. not a JSON array of objects -> ``WRONG_FORMAT`` (§3.6)
2. no usable ticket -> ``NO_TICKET``
3. a data object without ``type`` -> ``NO_TYPE``
4. an unknown ``type`` -> ``INVALID_PARAM`` "<t> 은 지원하지 않는 타입입니다."
5. a quotation type without ``codes`` -> ``NO_CODES``; ``codes: []`` -> ``INVALID_PARAM``
6. ``myAsset`` with ``codes`` -> ``WRONG_FORMAT``; unknown announcement category ->
   ``INVALID_PARAM``
7. a private type on the public endpoint -> ``INVALID_AUTH``

Unknown, lower-case and delisted codes are *not* errors (§3.3): the session ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from upbitws.protocol.formats import FORMATS

__all__ = [
    "ANNOUNCEMENT_CATEGORIES",
    "CANDLE_TYPES",
    "ERROR_MESSAGES",
    "FORMATS",
    "PRIVATE_TYPES",
    "QUOTATION_TYPES",
    "Entry",
    "Rejected",
    "Request",
    "parse_request",
    "split_depth",
]

CANDLE_TYPES = frozenset(
    f"candle.{u}" for u in ("1s", "1m", "3m", "5m", "10m", "15m", "30m", "60m", "240m")
)
QUOTATION_TYPES = frozenset({"ticker", "trade", "orderbook"}) | CANDLE_TYPES
PRIVATE_TYPES = frozenset({"myOrder", "myAsset", "announcement"})
#: The docs' 8 categories plus the 5 more upbit-sdk 1.1.0 accepts (§4.9, UNVERIFIED set).
ANNOUNCEMENT_CATEGORIES = frozenset(
    {"notice", "trade", "wallet", "maintenance", "digital_asset", "nft", "service", "event"}
    | {"note", "trading", "airdrop", "feature", "disclosure"}
)
#: Korean messages of the KR host (§6).
ERROR_MESSAGES = {
    "INVALID_AUTH": "인증 정보가 올바르지 않습니다.",
    "WRONG_FORMAT": "Format 이 맞지 않습니다.",
    "NO_TICKET": "티켓이 존재하지 않거나, 유효하지 않습니다.",
    "NO_TYPE": "type 필드가 존재하지 않습니다.",
    "NO_CODES": "codes 필드가 존재하지 않습니다.",
    "EMPTY_CODES": "codes 필드가 비어 있습니다.",
    "TOO_MANY_REQUESTS": "요청 수 제한을 초과했습니다.",
}
_DEPTHS = frozenset({1, 5, 15, 30})
_DEFAULT_DEPTH = 30


class Rejected(Exception):
    """A request the server answers with ``{"error":{"name","message"}}`` and close 1000."""

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.message = message if message is not None else ERROR_MESSAGES[name]


@dataclass(frozen=True, slots=True)
class Entry:
    """One data type object of a valid request."""

    type: str
    codes: tuple[str, ...] | None  # as sent (``.N`` suffixes kept); None when absent
    level: Decimal | None = None  # orderbook only; None when absent (means 0)
    only_snapshot: bool = False
    only_realtime: bool = False
    categories: tuple[str, ...] | None = None
    include_body: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    """A valid request: subscriptions (replace the connection's set) or an operation."""

    ticket: str
    entries: tuple[Entry, ...]
    format: str | None  # None: no format object (a subscription then means DEFAULT)
    method: str | None = None  # "LIST_SUBSCRIPTIONS"


def split_depth(code: str) -> tuple[str, int]:
    """``"KRW-BTC.15"`` -> ``("KRW-BTC", 15)``; a missing or unsupported count gives 30
    (§3.4). A non-numeric suffix stays part of the code (which then matches nothing).

    Only ASCII digits count as a number (``str.isdigit`` also accepts ``"²"``, which ``int``
    refuses), and a count of more than a few digits is simply unsupported (``int`` refuses
    strings of over 4,300 digits)."""
    head, dot, tail = code.rpartition(".")
    if not dot or not tail.isascii() or not tail.isdigit():
        return code, _DEFAULT_DEPTH
    if len(tail) > 3:
        return head, _DEFAULT_DEPTH
    depth = int(tail)
    return head, depth if depth in _DEPTHS else _DEFAULT_DEPTH


def _flag(item: dict[str, Any], snake: str, camel: str, camel_case: bool) -> bool:
    """``is_only_*`` (snake case wins); legacy camelCase honoured when ``camel_case`` (§3.2)."""
    value = item.get(snake)
    if value is None and camel_case:
        value = item.get(camel)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Rejected("WRONG_FORMAT")
    return value


def _level(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejected("WRONG_FORMAT")
    try:
        level = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Rejected("WRONG_FORMAT") from exc
    if not level.is_finite() or level < 0:
        raise Rejected("WRONG_FORMAT")
    return level


def _codes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise Rejected("WRONG_FORMAT")
    return tuple(value)


def _ticket(objects: list[dict[str, Any]]) -> str:
    for obj in objects:
        if "ticket" in obj and "type" not in obj:
            ticket = obj["ticket"]
            if isinstance(ticket, str) and ticket.strip():
                return ticket
            if isinstance(ticket, int) and not isinstance(ticket, bool):
                return str(ticket)  # older docs typed it Long (§3.1)
            raise Rejected("NO_TICKET")
    raise Rejected("NO_TICKET")


def _entry(item: dict[str, Any], camel_case: bool) -> Entry:
    type_ = item["type"]
    raw_codes = item.get("codes")
    codes = None if raw_codes is None else _codes(raw_codes)
    if type_ in QUOTATION_TYPES:
        if codes is None:
            raise Rejected("NO_CODES")
        if not codes:
            raise Rejected("INVALID_PARAM", ERROR_MESSAGES["EMPTY_CODES"])
    if type_ == "myAsset" and "codes" in item:
        raise Rejected("WRONG_FORMAT")  # §4.7: myAsset takes no codes
    categories = None
    if type_ == "announcement" and item.get("categories") is not None:
        categories = _codes(item["categories"])
        unknown = [c for c in categories if c not in ANNOUNCEMENT_CATEGORIES]
        if unknown:
            raise Rejected("INVALID_PARAM", f"{unknown[0]} 은 지원하지 않는 카테고리입니다.")
    include_body = item.get("include_body", False)
    if not isinstance(include_body, bool):
        raise Rejected("WRONG_FORMAT")
    only_snapshot = _flag(item, "is_only_snapshot", "isOnlySnapshot", camel_case)
    # Both flags true is UNVERIFIED (§14.10): the snapshot wins (one frame, then nothing).
    only_realtime = not only_snapshot and _flag(
        item, "is_only_realtime", "isOnlyRealtime", camel_case
    )
    return Entry(
        type=type_,
        codes=codes,
        level=_level(item.get("level")) if type_ == "orderbook" else None,
        only_snapshot=only_snapshot,
        only_realtime=only_realtime,
        categories=categories,
        include_body=include_body,
    )


def parse_request(data: str | bytes, *, private: bool, camel_case: bool = True) -> Request:
    """Validate one client request as the server does; raise :class:`Rejected` on the first
    failing check (module docstring). ``private`` is the endpoint (``/websocket/v1/private``)."""
    try:
        doc = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise Rejected("WRONG_FORMAT") from exc
    if not isinstance(doc, list) or not doc or not all(isinstance(o, dict) for o in doc):
        raise Rejected("WRONG_FORMAT")
    objects: list[dict[str, Any]] = doc
    ticket = _ticket(objects)
    fmt: str | None = None
    method: str | None = None
    items: list[dict[str, Any]] = []
    for obj in objects:
        if "type" in obj:
            items.append(obj)
        elif "ticket" in obj:
            continue
        elif "format" in obj:
            # An unknown format value is ignored and DEFAULT used (Bithumb-observed; §14.10).
            value = obj["format"]
            fmt = value.upper() if isinstance(value, str) and value.upper() in FORMATS else None
            fmt = fmt or "DEFAULT"
        elif "method" in obj:
            if obj["method"] != "LIST_SUBSCRIPTIONS":
                raise Rejected("WRONG_FORMAT")
            method = "LIST_SUBSCRIPTIONS"
        else:
            raise Rejected("NO_TYPE")
    if method is not None:
        return Request(ticket=ticket, entries=(), format=fmt, method=method)
    if not items:
        raise Rejected("NO_TYPE")
    for item in items:
        if not isinstance(item["type"], str) or not item["type"]:
            raise Rejected("NO_TYPE")
    for item in items:
        t = item["type"]
        if t not in QUOTATION_TYPES and t not in PRIVATE_TYPES:
            raise Rejected("INVALID_PARAM", f"{t} 은 지원하지 않는 타입입니다.")
    entries = tuple(_entry(item, camel_case) for item in items)
    if not private and any(e.type in PRIVATE_TYPES for e in entries):
        raise Rejected("INVALID_AUTH")
    return Request(ticket=ticket, entries=entries, format=fmt)
