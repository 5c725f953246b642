"""Subscriptions: what one connection wants, as validated values.

Upbit replaces a connection's whole subscription set, format included, on every request
(protocol §3.5), so the unit of state is :class:`SubscriptionSet`: the complete desired state
of one connection, which ``protocol/requests.py`` renders as one request. :class:`Subscription`
is one data type object (§3.2), validated at construction so that nothing Upbit would reject,
or worse silently ignore (§3.3, §3.4), reaches the wire.

Errors are :class:`SubscriptionError`. The client refuses more than Upbit does (a level on a
non-KRW pair, conflicting depths, both ``is_only_*`` flags); where Upbit itself would answer
with an error frame, the exception's ``name`` is that error's name (``NO_CODES``,
``INVALID_PARAM``, ...) so the user recognises it. The simulator does not reuse this
validation: it checks requests the way the server does, in the server's order
(``simulator/requests.py``), so the two cannot share a misunderstanding.

Sans-I/O: nothing here reads the clock or draws random numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from upbitws.protocol.fields import (
    ANNOUNCEMENT_CATEGORIES,
    CANDLE_UNITS,
    ORDERBOOK_DEPTHS,
    PRIVATE_TYPES,
    PUBLIC_TYPES,
    check_categories,
    check_flag,
    check_format,
    check_level,
    check_type,
    fail,
    is_private,
    normalize_codes,
    split_code,
)
from upbitws.protocol.formats import Format

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "ANNOUNCEMENT_CATEGORIES",
    "CANDLE_UNITS",
    "ORDERBOOK_DEPTHS",
    "PRIVATE_TYPES",
    "PUBLIC_TYPES",
    "Format",
    "Subscription",
    "SubscriptionSet",
    "announcement",
    "candle",
    "check_format",
    "is_private",
    "my_asset",
    "my_order",
    "orderbook",
    "ticker",
    "trade",
]


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
        type_ = check_type(self.type)
        codes, depth = normalize_codes(type_, self.codes, self.depth)
        level = check_level(self.level)
        snapshot = check_flag("is_only_snapshot", self.is_only_snapshot)
        realtime = check_flag("is_only_realtime", self.is_only_realtime)
        categories = check_categories(self.categories)
        include_body: bool | None = None
        if self.include_body is not None:
            include_body = check_flag("include_body", self.include_body) or None
        for name, value in (("depth", depth), ("level", level)):
            if value is not None and type_ != "orderbook":
                raise fail(
                    f"{name} applies to orderbook only: remove it from the {type_} subscription"
                )
        if type_ != "announcement" and (categories is not None or include_body is not None):
            raise fail(f"categories and include_body apply to announcement only, not {type_}")
        if snapshot and realtime:
            raise fail(
                "is_only_snapshot and is_only_realtime are both set: set at most one "
                "(neither means a snapshot followed by realtime frames)"
            )
        if is_private(type_) and (snapshot or realtime):
            raise fail(f"{type_} is realtime-only (§3.2): remove is_only_snapshot/realtime")
        if type_ in ("myAsset", "announcement") and codes:
            # §3.2: myAsset with any codes gets WRONG_FORMAT.
            raise fail(f"{type_} takes no codes: remove {list(codes)}", "WRONG_FORMAT")
        if not is_private(type_) and not codes:
            raise fail(f"{type_} needs at least one code, e.g. 'KRW-BTC'", "INVALID_PARAM")
        if level is not None and (others := [c for c in codes if not c.startswith("KRW-")]):
            raise fail(
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
        "orderbook", codes, depth, check_level(level), is_only_snapshot, is_only_realtime
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
    cats = None if categories is None else check_categories(categories)
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
        self._format = check_format(format)
        self.add(*subscriptions)

    @property
    def format(self) -> Format:
        """The connection-wide format sent with the set (§3.1)."""
        return self._format

    @format.setter
    def format(self, value: Format | str) -> None:
        self._format = check_format(value)

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
        type_ = check_type(type_)
        if not codes:
            for key in [key for key in self._entries if key[0] == type_]:
                del self._entries[key]
            return
        if type_ in ("myAsset", "announcement"):
            raise fail(f"{type_} has no codes: call remove({type_!r})")
        if type_ == "myOrder" and ("myOrder", "") in self._entries:
            raise fail(
                "myOrder is subscribed for all markets, so one market cannot be removed: "
                "remove('myOrder') and add my_order(...) with the markets you want"
            )
        for raw in codes:
            self._entries.pop((type_, split_code(type_, raw)[0]), None)

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
