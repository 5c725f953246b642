"""Subscriptions: what one connection wants, rendered as one complete request.

Upbit replaces a connection's whole subscription set, format included, on every request
(protocol §3.5), so the unit of state is :class:`SubscriptionSet` and the way out is
:func:`render_request`, which always renders the whole set. :class:`Subscription` is one
data type object (§3.2), validated at construction so that nothing Upbit would reject, or
worse silently ignore (§3.3, §3.4), reaches the wire.

Errors are :class:`SubscriptionError`; when Upbit itself would answer with an error frame
the exception's ``name`` is that error's name (``NO_CODES``, ``INVALID_PARAM``, ...), so the
simulator can reuse the validation.

Sans-I/O: the ticket is passed in; nothing here reads the clock or draws random numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, NamedTuple

import msgspec

from upbitws.exceptions import SubscriptionError

__all__ = [
    "ANNOUNCEMENT_CATEGORIES",
    "CANDLE_UNITS",
    "ORDERBOOK_DEPTHS",
    "PRIVATE_TYPES",
    "PUBLIC_TYPES",
    "Format",
    "ParsedRequest",
    "Subscription",
    "SubscriptionSet",
    "announcement",
    "candle",
    "is_private",
    "my_asset",
    "my_order",
    "orderbook",
    "parse_request",
    "render_list_subscriptions",
    "render_request",
    "ticker",
    "trade",
]


class Format(StrEnum):
    """Frame format; it applies to the whole connection (§3.1)."""

    DEFAULT = "DEFAULT"
    SIMPLE = "SIMPLE"
    JSON_LIST = "JSON_LIST"
    SIMPLE_LIST = "SIMPLE_LIST"


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
_DATA_KEYS: Final = frozenset(
    {"type", "codes", "level", "categories", "include_body"}
    | {"is_only_snapshot", "is_only_realtime", "isOnlySnapshot", "isOnlyRealtime"}
)


def is_private(type_: str) -> bool:
    """True for types served only on the authenticated ``/private`` endpoint (§1)."""
    return type_ in PRIVATE_TYPES


def _fail(message: str, name: str | None = None) -> SubscriptionError:
    return SubscriptionError(message, name=name)


def _check_type(type_: object) -> str:
    if isinstance(type_, str) and type_ in _ALL_TYPES:
        return type_
    if not isinstance(type_, str):
        raise _fail(f"type must be a string such as 'ticker', not {type_!r}", "INVALID_PARAM")
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
    raise _fail(f"unknown subscription type {type_!r}: use one of {valid}{hint}", "INVALID_PARAM")


def _check_depth(depth: object) -> int:
    if isinstance(depth, int) and not isinstance(depth, bool) and depth in ORDERBOOK_DEPTHS:
        return depth
    valid = ", ".join(map(str, ORDERBOOK_DEPTHS))
    raise _fail(f"orderbook depth {depth!r} is not supported: use one of {valid}")


def _split_code(type_: str, raw: object) -> tuple[str, int | None]:
    """Normalize one code (§3.3: Upbit silently ignores lower case); split ``.N`` (§3.4)."""
    if not isinstance(raw, str):
        raise _fail(f"{type_} code {raw!r} is not a string: use e.g. 'KRW-BTC'", "WRONG_FORMAT")
    code = raw.strip().upper()
    if not code:
        raise _fail(f"{type_} has an empty code: remove it or name a market such as 'KRW-BTC'")
    depth = None
    if type_ == "orderbook" and (match := _SUFFIX_RE.fullmatch(code)):
        code, depth = match[1], _check_depth(int(match[2]))
    if not _CODE_RE.fullmatch(code):
        hint = "; the .N depth suffix is for orderbook only" if "." in code else ""
        raise _fail(
            f"{type_} code {raw!r} is not a market code: write QUOTE-BASE in letters and "
            f"digits, e.g. 'KRW-BTC'{hint}"
        )
    return code, depth


def _normalize_codes(
    type_: str, codes: object, depth: object
) -> tuple[tuple[str, ...], int | None]:
    if isinstance(codes, str):
        codes = (codes,)
    if not isinstance(codes, Iterable):
        raise _fail(f"{type_} codes must be a sequence of strings, not {codes!r}", "WRONG_FORMAT")
    wanted = None if depth is None else _check_depth(depth)
    unique: dict[str, None] = {}
    suffixes: dict[int | None, str] = {}  # depth -> first code written with it
    for raw in codes:
        code, suffix = _split_code(type_, raw)
        unique.setdefault(code)
        suffixes.setdefault(suffix, str(raw))
    if wanted is None and len(suffixes) > 1:
        shown = ", ".join(map(repr, suffixes.values()))
        raise _fail(
            f"orderbook codes ask for different depths ({shown}): give every code the same "
            f".N suffix or pass depth=, or use one orderbook subscription per depth"
        )
    if wanted is None:
        wanted = next(iter(suffixes), None)
    for suffix, raw in suffixes.items():
        if suffix is not None and suffix != wanted:
            raise _fail(
                f"orderbook depth={wanted} conflicts with the suffix of {raw!r}: "
                f"drop the suffix or make them agree"
            )
    return tuple(unique), wanted


def _check_level(level: object) -> Decimal | None:
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
        raise _fail(f"orderbook level {level!r} is not a number: use e.g. 10000 or '0.1'")
    if value < 0:
        raise _fail(f"orderbook level {level} is negative: use 0 or a positive unit like 10000")
    return None if value == 0 else value


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(f"{name} must be True or False, not {value!r}", "WRONG_FORMAT")
    return value


def _check_categories(categories: object) -> tuple[str, ...] | None:
    if categories is None:
        return None
    if isinstance(categories, str):
        categories = (categories,)
    if not isinstance(categories, Iterable):
        raise _fail(f"announcement categories must be a list of strings, not {categories!r}")
    valid = ", ".join(ANNOUNCEMENT_CATEGORIES)
    unique: dict[str, None] = {}
    for category in categories:
        if category not in ANNOUNCEMENT_CATEGORIES:
            raise _fail(
                f"unknown announcement category {category!r}: use any of {valid} (§4.9)",
                "INVALID_PARAM",
            )
        unique.setdefault(category)
    if not unique:
        raise _fail(f"announcement categories is empty: pass None for all, or some of {valid}")
    return tuple(unique)


class _Options(NamedTuple):
    """Everything of a Subscription but type and codes: what makes two mergeable."""

    depth: int | None
    level: Decimal | None
    is_only_snapshot: bool
    is_only_realtime: bool
    categories: tuple[str, ...] | None
    include_body: bool | None


@dataclass(frozen=True, slots=True)
class Subscription:
    """One data type object (§3.2), normalized and validated at construction.

    Codes are stripped, upper-cased and de-duplicated; an orderbook code's ``.N`` suffix
    becomes ``depth``. ``level`` 0 and ``include_body=False`` are the server defaults and
    are stored as None, so equal requests compare equal.
    """

    type: str
    codes: tuple[str, ...] = ()
    depth: int | None = None
    level: Decimal | None = None
    is_only_snapshot: bool = False
    is_only_realtime: bool = False
    categories: tuple[str, ...] | None = None
    include_body: bool | None = None

    def __post_init__(self) -> None:
        type_ = _check_type(self.type)
        codes, depth = _normalize_codes(type_, self.codes, self.depth)
        level = _check_level(self.level)
        snapshot = _check_flag("is_only_snapshot", self.is_only_snapshot)
        realtime = _check_flag("is_only_realtime", self.is_only_realtime)
        categories = _check_categories(self.categories)
        include_body: bool | None = None
        if self.include_body is not None:
            include_body = _check_flag("include_body", self.include_body) or None
        for name, value in (("depth", depth), ("level", level)):
            if value is not None and type_ != "orderbook":
                raise _fail(
                    f"{name} applies to orderbook only: remove it from the {type_} subscription"
                )
        if type_ != "announcement" and (categories is not None or include_body is not None):
            raise _fail(f"categories and include_body apply to announcement only, not {type_}")
        if snapshot and realtime:
            raise _fail(
                "is_only_snapshot and is_only_realtime are both set: set at most one "
                "(neither means a snapshot followed by realtime frames)"
            )
        if is_private(type_) and (snapshot or realtime):
            raise _fail(f"{type_} is realtime-only (§3.2): remove is_only_snapshot/realtime")
        if type_ in ("myAsset", "announcement") and codes:
            # §3.2: myAsset with any codes gets WRONG_FORMAT.
            raise _fail(f"{type_} takes no codes: remove {list(codes)}", "WRONG_FORMAT")
        if not is_private(type_) and not codes:
            raise _fail(f"{type_} needs at least one code, e.g. 'KRW-BTC'", "INVALID_PARAM")
        if level is not None and (others := [c for c in codes if not c.startswith("KRW-")]):
            raise _fail(
                f"orderbook level {level} works on KRW markets only; Upbit sends nothing at "
                f"all for {', '.join(others)} with a level (§3.4): drop level, or put those "
                f"codes in a separate orderbook subscription without it"
            )
        for name, normalized in (
            ("type", type_), ("codes", codes), ("depth", depth), ("level", level),
            ("categories", categories), ("include_body", include_body),
        ):  # fmt: skip
            object.__setattr__(self, name, normalized)

    @property
    def is_private(self) -> bool:
        """True if this type needs the authenticated ``/private`` endpoint."""
        return is_private(self.type)

    def _options(self) -> _Options:
        return _Options(
            self.depth,
            self.level,
            self.is_only_snapshot,
            self.is_only_realtime,
            self.categories,
            self.include_body,
        )


def ticker(
    *codes: str, is_only_snapshot: bool = False, is_only_realtime: bool = False
) -> Subscription:
    """``ticker`` for the given codes, e.g. ``ticker("KRW-BTC", "KRW-ETH")``."""
    return Subscription("ticker", codes, None, None, is_only_snapshot, is_only_realtime)


def trade(
    *codes: str, is_only_snapshot: bool = False, is_only_realtime: bool = False
) -> Subscription:
    """``trade`` for the given codes."""
    return Subscription("trade", codes, None, None, is_only_snapshot, is_only_realtime)


def orderbook(
    *codes: str,
    depth: int | None = None,
    level: Decimal | int | str | None = None,
    is_only_snapshot: bool = False,
    is_only_realtime: bool = False,
) -> Subscription:
    """``orderbook``; ``depth`` is 1, 5, 15 or 30 (§3.4), ``level`` KRW markets only."""
    return Subscription(
        "orderbook", codes, depth, _check_level(level), is_only_snapshot, is_only_realtime
    )


def candle(
    unit: str, *codes: str, is_only_snapshot: bool = False, is_only_realtime: bool = False
) -> Subscription:
    """``candle.{unit}``; ``unit`` is ``"1m"`` or ``"candle.1m"`` (see CANDLE_UNITS)."""
    type_ = unit if unit.startswith("candle") else f"candle.{unit}"
    return Subscription(type_, codes, None, None, is_only_snapshot, is_only_realtime)


def my_order(*codes: str) -> Subscription:
    """``myOrder`` (private); no codes means every market (§4.6)."""
    return Subscription("myOrder", codes)


def my_asset() -> Subscription:
    """``myAsset`` (private); it never takes codes (§4.7)."""
    return Subscription("myAsset")


def announcement(
    categories: Iterable[str] | None = None, include_body: bool | None = None
) -> Subscription:
    """``announcement`` (private, §4.8); ``categories`` None means all (§4.9)."""
    cats = None if categories is None else _check_categories(categories)
    return Subscription("announcement", categories=cats, include_body=include_body)


class SubscriptionSet:
    """The desired state of one connection: subscriptions plus the connection's format.

    Holds one entry per (type, code) (code ``""`` for code-less private types); a later
    :meth:`add` moves a code to the new options. Iteration yields one Subscription per
    distinct (type, options), codes merged, in order of first appearance: exactly the data
    type objects :func:`render_request` sends. Equality ignores order (Upbit does too).
    A ``myOrder`` for all markets covers every per-market ``myOrder``.
    """

    __slots__ = ("_entries", "_format")

    def __init__(
        self, subscriptions: Iterable[Subscription] = (), *, format: Format | str = Format.DEFAULT
    ) -> None:
        self._entries: dict[tuple[str, str], _Options] = {}
        self._format = _check_format(format)
        self.add(*subscriptions)

    @property
    def format(self) -> Format:
        """The connection-wide format sent with the set (§3.1)."""
        return self._format

    @format.setter
    def format(self, value: Format | str) -> None:
        self._format = _check_format(value)

    @property
    def is_empty(self) -> bool:
        return not self._entries

    def add(self, *subscriptions: Subscription) -> None:
        """Merge subscriptions in; for a (type, code) already present the new options win."""
        for sub in subscriptions:
            if not isinstance(sub, Subscription):
                raise TypeError(f"expected a Subscription, got {sub!r}")
            if sub.type == "myOrder" and not sub.codes:
                self.remove("myOrder")
            elif sub.type == "myOrder" and ("myOrder", "") in self._entries:
                continue  # already subscribed for every market
            options = sub._options()
            for code in sub.codes or ("",):
                self._entries[sub.type, code] = options

    def remove(self, type_: str, *codes: str) -> None:
        """Remove codes of a type (absent ones are ignored); no codes removes the type."""
        type_ = _check_type(type_)
        if not codes:
            for key in [key for key in self._entries if key[0] == type_]:
                del self._entries[key]
            return
        if type_ in ("myAsset", "announcement"):
            raise _fail(f"{type_} has no codes: call remove({type_!r})")
        if type_ == "myOrder" and ("myOrder", "") in self._entries:
            raise _fail(
                "myOrder is subscribed for all markets, so one market cannot be removed: "
                "remove('myOrder') and add my_order(...) with the markets you want"
            )
        for raw in codes:
            self._entries.pop((type_, _split_code(type_, raw)[0]), None)

    def keys(self) -> frozenset[tuple[str, str]]:
        """The (type, code) pairs; code is ``""`` for code-less private subscriptions."""
        return frozenset(self._entries)

    def public(self) -> SubscriptionSet:
        """The part for the public endpoint, same format."""
        return self._filtered(private=False)

    def private(self) -> SubscriptionSet:
        """The part for the ``/private`` endpoint, same format."""
        return self._filtered(private=True)

    def copy(self) -> SubscriptionSet:
        new = SubscriptionSet(format=self._format)
        new._entries = self._entries.copy()
        return new

    def _filtered(self, *, private: bool) -> SubscriptionSet:
        new = SubscriptionSet(format=self._format)
        new._entries = {k: v for k, v in self._entries.items() if is_private(k[0]) == private}
        return new

    def _groups(self) -> dict[tuple[str, _Options], list[str]]:
        groups: dict[tuple[str, _Options], list[str]] = {}
        for (type_, code), options in self._entries.items():
            groups.setdefault((type_, options), []).append(code)
        return groups

    def __iter__(self) -> Iterator[Subscription]:
        for (type_, o), codes in self._groups().items():
            codes_ = tuple(code for code in codes if code)
            yield Subscription(type_, codes_, o.depth, o.level, *o[2:])

    def __len__(self) -> int:
        return len(self._groups())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubscriptionSet):
            return NotImplemented
        return self._format == other._format and self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"SubscriptionSet({list(self)!r}, format={self._format.value!r})"


def _check_format(value: object) -> Format:
    if isinstance(value, str) and value in Format.__members__:
        return Format(value)
    raise _fail(f"unknown format {value!r}: use one of {', '.join(Format)}")


def _check_ticket(ticket: object) -> str:
    if isinstance(ticket, str) and ticket:
        return ticket
    raise _fail(f"ticket must be a non-empty string such as a UUID, not {ticket!r}", "NO_TICKET")


def _render_object(sub: Subscription) -> dict[str, Any]:
    """Key order: type, codes, level, flags, categories, include_body (§3.2)."""
    obj: dict[str, Any] = {"type": sub.type}
    if sub.codes or not sub.is_private:
        suffix = "" if sub.depth is None else f".{sub.depth}"
        obj["codes"] = [code + suffix for code in sub.codes]
    if sub.level is not None:
        # A JSON number with the Decimal's own digits, never an exponent (§3.4).
        obj["level"] = msgspec.Raw(format(sub.level, "f").encode())
    if sub.is_only_snapshot:
        obj["is_only_snapshot"] = True
    if sub.is_only_realtime:
        obj["is_only_realtime"] = True  # snake case, verified on the wire (§3.2)
    if sub.categories is not None:
        obj["categories"] = list(sub.categories)
    if sub.include_body:
        obj["include_body"] = True
    return obj


def render_request(subs: SubscriptionSet, ticket: str) -> bytes:
    """The one complete request for ``subs``: ticket, data type objects, format (§3.1)."""
    if subs.is_empty:
        raise _fail(
            "the subscription set is empty: Upbit has no unsubscribe (§3.5), "
            "so close the connection instead of sending nothing"
        )
    items: list[dict[str, Any]] = [{"ticket": _check_ticket(ticket)}]
    items.extend(_render_object(sub) for sub in subs)
    items.append({"format": subs.format.value})
    return msgspec.json.encode(items)


def render_list_subscriptions(ticket: str, format: Format | None = None) -> bytes:
    """``LIST_SUBSCRIPTIONS`` (§4.10); a ``format`` switches the connection's format."""
    items: list[dict[str, str]] = [
        {"ticket": _check_ticket(ticket)},
        {"method": "LIST_SUBSCRIPTIONS"},
    ]
    if format is not None:
        items.append({"format": _check_format(format).value})
    return msgspec.json.encode(items)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A decoded request; ``subscriptions`` is None for a method request (§4.10)."""

    ticket: str
    subscriptions: SubscriptionSet | None
    format: Format | None
    method: str | None


_DECODER: Final = msgspec.json.Decoder(float_hook=Decimal)  # keep level digits exact


def parse_request(data: bytes | str) -> ParsedRequest:
    """Decode and validate a request, leniently where Upbit is (§3.1, §3.2, §3.6).

    Accepts the legacy camelCase ``isOnlySnapshot``/``isOnlyRealtime`` and a format object
    anywhere after the ticket. Objects naming the same (type, code) twice: the later wins.
    """
    try:
        items = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise _fail(f"request is not JSON ({exc}): send a JSON array", "WRONG_FORMAT") from exc
    if not isinstance(items, list) or not items:
        raise _fail("a request must be a non-empty JSON array", "WRONG_FORMAT")
    head = items[0]
    if not isinstance(head, dict) or "ticket" not in head:
        raise _fail('the first element must be the ticket object {"ticket": "..."}', "NO_TICKET")
    if len(head) > 1:
        raise _fail(f"the ticket object carries other fields {head!r}: send them separately")
    ticket = head["ticket"]
    if isinstance(ticket, int) and not isinstance(ticket, bool):
        ticket = str(ticket)  # older docs typed the ticket as Long (§3.1)
    ticket = _check_ticket(ticket)
    fmt: Format | None = None
    method: str | None = None
    subs: list[Subscription] = []
    for item in items[1:]:
        if not isinstance(item, dict):
            raise _fail(f"request element {item!r} is not an object", "WRONG_FORMAT")
        if "type" in item:
            subs.extend(_parse_object(item))
        elif set(item) == {"format"}:
            if fmt is not None:
                raise _fail("the request has two format objects: send one (§3.1)")
            fmt = _check_format(item["format"])
        elif set(item) == {"method"}:
            if item["method"] != "LIST_SUBSCRIPTIONS":
                raise _fail(f"unknown method {item['method']!r}: use 'LIST_SUBSCRIPTIONS'")
            method = "LIST_SUBSCRIPTIONS"
        else:
            raise _fail(
                f"unexpected request element {item!r}: a data object needs 'type'", "NO_TYPE"
            )
    if method is not None and subs:
        raise _fail("LIST_SUBSCRIPTIONS cannot be combined with data type objects")
    if method is None and not subs:
        raise _fail("the request has no data type object: add e.g. a ticker", "NO_TYPE")
    subscriptions = None if method else SubscriptionSet(subs, format=fmt or Format.DEFAULT)
    return ParsedRequest(ticket, subscriptions, fmt, method)


def _parse_flag(item: dict[str, Any], snake: str, camel: str) -> bool:
    values = {_check_flag(key, item[key]) for key in (snake, camel) if key in item}
    if len(values) > 1:
        raise _fail(f"{snake} and {camel} disagree: send one of them")
    return values == {True}


def _parse_object(item: dict[str, Any]) -> list[Subscription]:
    type_ = _check_type(item["type"])
    if unknown := sorted(set(item) - _DATA_KEYS):
        raise _fail(f"unknown field(s) {unknown} in the {type_} object", "WRONG_FORMAT")
    if "codes" not in item and not is_private(type_):
        raise _fail(f'{type_} needs codes, e.g. "codes": ["KRW-BTC"]', "NO_CODES")
    if type_ == "myAsset" and "codes" in item:
        raise _fail("myAsset must not carry codes, not even []", "WRONG_FORMAT")
    codes = item.get("codes", [])
    if not isinstance(codes, list):
        raise _fail(f"{type_} codes must be a JSON array of strings", "WRONG_FORMAT")
    # Each orderbook code carries its own depth on the wire; ours is per Subscription.
    by_depth: dict[int | None, list[str]] = {}
    for raw in codes:
        depth = _split_code(type_, raw)[1] if type_ == "orderbook" else None
        by_depth.setdefault(depth, []).append(raw)
    snapshot = _parse_flag(item, "is_only_snapshot", "isOnlySnapshot")
    realtime = _parse_flag(item, "is_only_realtime", "isOnlyRealtime")
    return [
        Subscription(
            type_,
            tuple(group),
            None,
            item.get("level"),
            snapshot,
            realtime,
            item.get("categories"),
            item.get("include_body"),
        )
        for group in (list(by_depth.values()) or [[]])
    ]
