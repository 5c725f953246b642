"""The fields of a data type object (§3.2): their valid values, and one check per field.

Shared by the subscription model (``subscriptions.py``) and the request parser
(``requests.py``). Each check returns the normalized value or raises
:class:`SubscriptionError` with one line naming the input and what to do; ``name`` is the
error Upbit would answer with, where it would answer at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

from upbitws.exceptions import SubscriptionError
from upbitws.protocol.formats import Format

__all__ = [
    "ANNOUNCEMENT_CATEGORIES",
    "CANDLE_UNITS",
    "ORDERBOOK_DEPTHS",
    "PRIVATE_TYPES",
    "PUBLIC_TYPES",
    "check_categories",
    "check_depth",
    "check_flag",
    "check_format",
    "check_level",
    "check_type",
    "fail",
    "is_private",
    "normalize_codes",
    "split_code",
]

CANDLE_UNITS: Final[tuple[str, ...]] = (
    "1s", "1m", "3m", "5m", "10m", "15m", "30m", "60m", "240m",
)  # fmt: skip
PUBLIC_TYPES: Final[tuple[str, ...]] = (
    "ticker",
    "trade",
    "orderbook",
    *(f"candle.{unit}" for unit in CANDLE_UNITS),
)
PRIVATE_TYPES: Final[tuple[str, ...]] = ("myOrder", "myAsset", "announcement")
# §4.9: the docs list the first eight, SDK 1.1.0 adds the rest; the server's set is
# unverified, so we accept the union.
ANNOUNCEMENT_CATEGORIES: Final[tuple[str, ...]] = (
    "notice", "trade", "wallet", "maintenance", "digital_asset", "nft", "service", "event",
    "note", "trading", "airdrop", "feature", "disclosure",
)  # fmt: skip
# §3.4: since 2025-07-02 other counts silently fall back to 30.
ORDERBOOK_DEPTHS: Final[tuple[int, ...]] = (1, 5, 15, 30)

_ALL_TYPES: Final = PUBLIC_TYPES + PRIVATE_TYPES
_CODE_RE: Final = re.compile(r"[A-Z0-9]+-[A-Z0-9]+", re.ASCII)
_SUFFIX_RE: Final = re.compile(r"(.+)\.(\d{1,9})", re.ASCII)
_HOURS_RE: Final = re.compile(r"candle\.(\d{1,3})h")


def is_private(type_: str) -> bool:
    """True for types served only on the authenticated ``/private`` endpoint (§1)."""
    return type_ in PRIVATE_TYPES


def fail(message: str, name: str | None = None) -> SubscriptionError:
    return SubscriptionError(message, name=name)


def check_type(type_: object) -> str:
    if isinstance(type_, str) and type_ in _ALL_TYPES:
        return type_
    if not isinstance(type_, str):
        raise fail(f"type must be a string such as 'ticker', not {type_!r}", "INVALID_PARAM")
    hint = ""
    if type_.startswith("candle"):
        hours = _HOURS_RE.fullmatch(type_)
        minutes = f"candle.{int(hours[1]) * 60}m" if hours else ""
        hint = f" (did you mean {minutes!r}?)" if minutes in PUBLIC_TYPES else ""
        hint += "; a candle type names its unit, e.g. 'candle.1m', hours written in minutes"
    else:
        folded = type_.replace("_", "").lower()
        hint = "".join(f" (did you mean {t!r}?)" for t in _ALL_TYPES if t.lower() == folded)
    valid = ", ".join(_ALL_TYPES)
    raise fail(f"unknown subscription type {type_!r}: use one of {valid}{hint}", "INVALID_PARAM")


def check_depth(depth: object) -> int:
    if isinstance(depth, int) and not isinstance(depth, bool) and depth in ORDERBOOK_DEPTHS:
        return depth
    valid = ", ".join(map(str, ORDERBOOK_DEPTHS))
    raise fail(f"orderbook depth {depth!r} is not supported: use one of {valid}")


def split_code(type_: str, raw: object) -> tuple[str, int | None]:
    """Normalize one code (§3.3: Upbit silently ignores lower case); split ``.N`` (§3.4)."""
    if not isinstance(raw, str):
        raise fail(f"{type_} code {raw!r} is not a string: use e.g. 'KRW-BTC'", "WRONG_FORMAT")
    code = raw.strip().upper()
    if not code:
        raise fail(f"{type_} has an empty code: remove it or name a market such as 'KRW-BTC'")
    depth = None
    if type_ == "orderbook" and (match := _SUFFIX_RE.fullmatch(code)):
        code, depth = match[1], check_depth(int(match[2]))
    if not _CODE_RE.fullmatch(code):
        hint = "; the .N depth suffix is for orderbook only" if "." in code else ""
        raise fail(
            f"{type_} code {raw!r} is not a market code: write QUOTE-BASE in letters and "
            f"digits, e.g. 'KRW-BTC'{hint}"
        )
    return code, depth


def normalize_codes(type_: str, codes: object, depth: object) -> tuple[tuple[str, ...], int | None]:
    if isinstance(codes, str):
        codes = (codes,)
    if not isinstance(codes, Iterable):
        raise fail(f"{type_} codes must be a sequence of strings, not {codes!r}", "WRONG_FORMAT")
    wanted = None if depth is None else check_depth(depth)
    unique: dict[str, None] = {}
    suffixes: dict[int | None, str] = {}  # depth -> first code written with it
    for raw in codes:
        code, suffix = split_code(type_, raw)
        unique.setdefault(code)
        suffixes.setdefault(suffix, str(raw))
    if wanted is None and len(suffixes) > 1:
        shown = ", ".join(map(repr, suffixes.values()))
        raise fail(
            f"orderbook codes ask for different depths ({shown}): give every code the same "
            f".N suffix or pass depth=, or use one orderbook subscription per depth"
        )
    if wanted is None:
        wanted = next(iter(suffixes), None)
    for suffix, raw in suffixes.items():
        if suffix is not None and suffix != wanted:
            raise fail(
                f"orderbook depth={wanted} conflicts with the suffix of {raw!r}: "
                f"drop the suffix or make them agree"
            )
    return tuple(unique), wanted


def check_level(level: object) -> Decimal | None:
    """§3.4: ``level`` 0 (the default, native tick) is stored as None."""
    if level is None:
        return None
    value: Decimal | None = None
    if isinstance(level, Decimal):
        value = level
    elif isinstance(level, int | float | str) and not isinstance(level, bool):
        try:
            value = Decimal(repr(level) if isinstance(level, float) else str(level).strip())
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite():
        raise fail(f"orderbook level {level!r} is not a number: use e.g. 10000 or '0.1'")
    if value < 0:
        raise fail(f"orderbook level {level} is negative: use 0 or a positive unit like 10000")
    return None if value == 0 else value


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise fail(f"{name} must be True or False, not {value!r}", "WRONG_FORMAT")
    return value


def check_categories(categories: object) -> tuple[str, ...] | None:
    if categories is None:
        return None
    if isinstance(categories, str):
        categories = (categories,)
    if not isinstance(categories, Iterable):
        raise fail(f"announcement categories must be a list of strings, not {categories!r}")
    valid = ", ".join(ANNOUNCEMENT_CATEGORIES)
    unique: dict[str, None] = {}
    for category in categories:
        if category not in ANNOUNCEMENT_CATEGORIES:
            raise fail(
                f"unknown announcement category {category!r}: use any of {valid} (§4.9)",
                "INVALID_PARAM",
            )
        unique.setdefault(category)
    if not unique:
        raise fail(f"announcement categories is empty: pass None for all, or some of {valid}")
    return tuple(unique)


def check_format(value: object) -> Format:
    """``value`` as a :class:`Format`, or a :class:`SubscriptionError` naming the four."""
    if isinstance(value, str) and value in Format.__members__:
        return Format(value)
    raise fail(f"unknown format {value!r}: use one of {', '.join(Format)}")
