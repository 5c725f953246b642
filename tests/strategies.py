"""Hypothesis strategies for every upbitws model, in exact (``Decimal``) or float mode.

Built from each model's field types, so a field added to a model is covered without an edit
here. Numbers are spelled the way Upbit spells them (protocol §4.1): plain, with trailing zeros
(``0.00077720``), in exponent form (``1.16539E8``, ``7.9276E-4``), beyond double precision
(``1386929.37231066771348207123``), and zero (the padding of thin orderbooks, §4.4). Optional
fields are ``None`` part of the time. Integers reach past 2^53 (``sequential_id``, §11.2).

    >>> from strategies import messages
    >>> messages("float")          # any model with float numbers
    >>> model(Orderbook)           # exact orderbooks
"""

from __future__ import annotations

import types
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec
from hypothesis import strategies as st

from upbitws.models import (
    CANDLE_CLASSES,
    Announcement,
    ErrorDetail,
    ErrorFrame,
    MyAsset,
    MyOrder,
    Orderbook,
    OrderbookUnit,
    StatusFrame,
    SubscriptionList,
    Ticker,
    Trade,
)

__all__ = [
    "ALL_MODELS",
    "EVENT_MODELS",
    "WIRE_DECIMALS",
    "Numbers",
    "announcements",
    "candles",
    "decimals",
    "error_frames",
    "events",
    "floats",
    "messages",
    "model",
    "my_assets",
    "my_orders",
    "orderbook_units",
    "orderbooks",
    "status_frames",
    "subscription_lists",
    "tickers",
    "trades",
    "wire_ints",
    "wire_text",
]

Numbers = Literal["decimal", "float"]
S = TypeVar("S", bound=msgspec.Struct)

#: Data events: what ``type``/``ty`` frames carry (all have a SIMPLE form).
EVENT_MODELS: tuple[type[msgspec.Struct], ...] = (
    Ticker,
    Trade,
    Orderbook,
    *CANDLE_CLASSES.values(),
    MyOrder,
    MyAsset,
    Announcement,
)
#: Every model ``decode`` can return.
ALL_MODELS: tuple[type[msgspec.Struct], ...] = (
    *EVENT_MODELS,
    StatusFrame,
    ErrorFrame,
    SubscriptionList,
)

#: Spellings seen on the wire or in the docs (protocol §4.1, samples).
WIRE_DECIMALS: tuple[Decimal, ...] = tuple(
    Decimal(s)
    for s in (
        "1.16539E8",
        "0.00077720",
        "100473000.00000000",
        "1386929.37231066771348207123",
        "10329.670127489597585685",
        "7.9276E-4",
        "5.0E-4",
        "0.00000689",
        "0.0126713295",
        "-0.0126713295",
        "31883000",
        "0",
        "0.0",
        "0E-8",
    )
)


def decimals() -> st.SearchStrategy[Decimal]:
    """Finite Decimals as Upbit writes them: exact coefficient and exponent kept."""
    # coefficient (its trailing zeros kept) and exponent: 0.00077720 is 77720E-8
    built = st.builds(
        lambda sign, coefficient, exp: Decimal(f"{'-' if sign else ''}{coefficient}E{exp}"),
        st.booleans(),
        st.integers(0, 10**28 - 1),
        st.integers(-30, 12),
    )
    return st.one_of(
        st.sampled_from(WIRE_DECIMALS),
        built.map(_no_integer_minus_zero),
        st.integers(0, 10**12).map(Decimal),
    )


def _no_integer_minus_zero(value: Decimal) -> Decimal:
    """``Decimal("-0")`` is written ``-0``: a JSON integer, read back as ``0`` (the stdlib
    reads it so too). ``-0.0`` and ``-0E-8`` keep their sign and are left alone."""
    return value.copy_abs() if value.is_zero() and value.as_tuple().exponent == 0 else value


def floats() -> st.SearchStrategy[float]:
    """Finite floats (JSON has no NaN or infinity), zero often (padded orderbook slots)."""
    return st.one_of(
        st.just(0.0),
        st.sampled_from(WIRE_DECIMALS).map(float),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def wire_ints() -> st.SearchStrategy[int]:
    """Millisecond timestamps, counts and trade ids, including ids past 2^53 (§11.2)."""
    return st.one_of(
        st.integers(0, 2**63 - 1),
        st.sampled_from([0, 1, 1787728554797, 17877285547970000, 2**53 + 1, 2**63 - 1]),
    )


def wire_text(max_size: int = 24) -> st.SearchStrategy[str]:
    """Any text JSON can carry (lone surrogates cannot be UTF-8 encoded, so none)."""
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size)


def _strategy_for(tp: Any, num: type) -> st.SearchStrategy[Any]:
    """A strategy for one field type of a concrete (number-resolved) model."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return st.one_of(*(_strategy_for(arg, num) for arg in get_args(tp)))
    if tp is type(None):
        return st.none()
    if tp is Decimal:
        return decimals()
    if tp is float:
        return floats()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return wire_ints()
    if tp is str:
        return wire_text()
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if origin is tuple:
        item, _ellipsis = get_args(tp)
        size = 30 if (get_origin(item) or item) is OrderbookUnit else 4
        return st.lists(_strategy_for(item, num), max_size=size).map(tuple)
    if origin is dict:
        key, value = get_args(tp)
        return st.dictionaries(_strategy_for(key, num), _strategy_for(value, num), max_size=3)
    cls = origin or tp
    if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
        return model(cls, "float" if num is float else "decimal")
    raise TypeError(f"no strategy for field type {tp!r}")


def model(cls: type[S], numbers: Numbers = "decimal") -> st.SearchStrategy[S]:
    """Instances of model ``cls`` (``Ticker``, ``Candle1m``, ``StatusFrame`` …) with every field
    drawn from its type; numbers are ``Decimal`` or ``float`` as ``numbers`` says."""
    num: type = Decimal if numbers == "decimal" else float
    concrete: Any = cls[num] if getattr(cls, "__parameters__", ()) else cls  # type: ignore[index]
    fields = {f.name: _strategy_for(f.type, num) for f in msgspec.structs.fields(concrete)}
    return st.builds(cls, **fields)


def tickers(numbers: Numbers = "decimal") -> st.SearchStrategy[Ticker[Any]]:
    return model(Ticker, numbers)


def trades(numbers: Numbers = "decimal") -> st.SearchStrategy[Trade[Any]]:
    return model(Trade, numbers)


def orderbook_units(numbers: Numbers = "decimal") -> st.SearchStrategy[OrderbookUnit[Any]]:
    return model(OrderbookUnit, numbers)


def orderbooks(numbers: Numbers = "decimal") -> st.SearchStrategy[Orderbook[Any]]:
    return model(Orderbook, numbers)


def candles(numbers: Numbers = "decimal") -> st.SearchStrategy[Any]:
    """A candle of any unit (``candle.1s`` … ``candle.240m``)."""
    return st.one_of(*(model(cls, numbers) for cls in CANDLE_CLASSES.values()))


def my_orders(numbers: Numbers = "decimal") -> st.SearchStrategy[MyOrder[Any]]:
    return model(MyOrder, numbers)


def my_assets(numbers: Numbers = "decimal") -> st.SearchStrategy[MyAsset[Any]]:
    return model(MyAsset, numbers)


def announcements() -> st.SearchStrategy[Announcement]:
    return model(Announcement)


def status_frames() -> st.SearchStrategy[StatusFrame]:
    return st.one_of(st.just(StatusFrame("UP")), model(StatusFrame))


def error_frames() -> st.SearchStrategy[ErrorFrame]:
    names = st.sampled_from(
        ["INVALID_AUTH", "WRONG_FORMAT", "NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM"]
    )
    known = st.builds(ErrorDetail, names, wire_text()).map(ErrorFrame)
    return st.one_of(known, model(ErrorFrame))


def subscription_lists() -> st.SearchStrategy[SubscriptionList]:
    return model(SubscriptionList)


def events(numbers: Numbers = "decimal") -> st.SearchStrategy[Any]:
    """Any data event (the types that have DEFAULT and SIMPLE forms)."""
    return st.one_of(*(model(cls, numbers) for cls in EVENT_MODELS))


def messages(numbers: Numbers = "decimal") -> st.SearchStrategy[Any]:
    """Any model ``decode`` can return."""
    return st.one_of(events(numbers), status_frames(), error_frames(), subscription_lists())
