"""Schema drift: a value Upbit adds to an enum later decodes, keeping its raw text."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

import upbitws
from upbitws.models import (
    AskBid,
    Change,
    EventType,
    MarketState,
    MarketWarning,
    OrderState,
    OrderType,
    SmpType,
    StreamType,
    TimeInForce,
)
from upbitws.models.enums import OpenStrEnum

if TYPE_CHECKING:
    from enum import StrEnum

DATA = Path(__file__).parent.parent / "data"
ENUMS = [
    AskBid,
    Change,
    EventType,
    MarketState,
    MarketWarning,
    OrderState,
    OrderType,
    SmpType,
    StreamType,
    TimeInForce,
]
#: (fixture, field) for every enum field of every model.
FIELDS = [
    ("trade_default.json", "ask_bid"),
    ("trade_default.json", "change"),
    ("trade_default.json", "stream_type"),
    ("ticker_default.json", "ask_bid"),
    ("ticker_default.json", "change"),
    ("ticker_default.json", "market_state"),
    ("ticker_default.json", "market_warning"),
    ("orderbook_default.json", "stream_type"),
    ("candle_default.json", "stream_type"),
    ("myorder_default.json", "ask_bid"),
    ("myorder_default.json", "order_type"),
    ("myorder_default.json", "state"),
    ("myorder_default.json", "time_in_force"),
    ("myorder_default.json", "smp_type"),
    ("myasset_default.json", "stream_type"),
    ("announcement_default.json", "event_type"),
]


@pytest.mark.parametrize("enum", ENUMS)
def test_every_enum_is_open(enum: type[StrEnum]) -> None:
    assert issubclass(enum, OpenStrEnum)
    value = enum("NEW_VALUE_2030")
    assert value == "NEW_VALUE_2030"
    assert str(value) == "NEW_VALUE_2030"
    assert isinstance(value, enum)
    assert not value.known
    assert value not in list(enum)
    assert all(member.known for member in enum)
    assert enum(next(iter(enum)).value) is next(iter(enum))  # known values stay members
    assert pickle.loads(pickle.dumps(value)) == value


def test_only_strings_are_accepted() -> None:
    with pytest.raises(ValueError):
        AskBid(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fixture", "field"), FIELDS)
@pytest.mark.parametrize("fmt", ["DEFAULT", "SIMPLE", "JSON_LIST"])
def test_an_unknown_value_decodes_in_every_format(fixture: str, field: str, fmt: str) -> None:
    frame: dict[str, Any] = json.loads((DATA / fixture).read_text())
    frame[field] = "ADDED_LATER"
    [message] = upbitws.decode(json.dumps(frame))
    [again] = upbitws.decode(upbitws.encode(message, fmt))
    for decoded in (message, again):
        value = getattr(decoded, field)
        assert value == "ADDED_LATER"
        assert not value.known
    assert again == message
    assert upbitws.to_dict(message)[field] == "ADDED_LATER"
    [as_float] = upbitws.decode(json.dumps(frame), numbers="float")
    assert getattr(as_float, field) == "ADDED_LATER"


def test_unknown_values_are_not_cached() -> None:
    # A server sending endless new values must not grow memory.
    before = len(AskBid._value2member_map_)
    for i in range(1000):
        msgspec.json.decode(f'"X{i}"'.encode(), type=AskBid)
    assert len(AskBid._value2member_map_) == before


def test_an_enum_value_of_the_wrong_json_type_still_fails() -> None:
    frame = json.loads((DATA / "trade_default.json").read_text())
    frame["ask_bid"] = 5
    with pytest.raises(upbitws.MessageDecodeError):
        upbitws.decode(json.dumps(frame))
