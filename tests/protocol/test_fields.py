"""The per-field checks of a data type object (protocol/fields.py), through the public API.

Each bad input fails fast with one line naming the input and what to do; ``name`` is the error
Upbit would answer with, where it would answer at all (§3.6).
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from upbitws.exceptions import SubscriptionError
from upbitws.protocol.requests import parse_request
from upbitws.protocol.subscriptions import Subscription, announcement


def _request(obj: dict[str, Any]) -> bytes:
    return json.dumps([{"ticket": "t"}, obj, {"format": "DEFAULT"}]).encode()


def test_a_type_that_is_not_a_string_is_invalid_param() -> None:
    with pytest.raises(SubscriptionError, match="type must be a string") as info:
        Subscription(cast("str", 123))
    assert info.value.name == "INVALID_PARAM"


def test_codes_that_are_not_a_sequence_are_wrong_format() -> None:
    with pytest.raises(SubscriptionError, match="codes must be a sequence") as info:
        Subscription("ticker", cast("tuple[str, ...]", 5))
    assert info.value.name == "WRONG_FORMAT"


@pytest.mark.parametrize("level", [[10000], {"unit": 1}, True, "ten", "NaN", "Infinity"])
def test_a_level_that_is_not_a_finite_number_is_refused(level: object) -> None:
    with pytest.raises(SubscriptionError, match="is not a number"):
        parse_request(_request({"type": "orderbook", "codes": ["KRW-BTC"], "level": level}))


def test_one_category_may_be_given_as_a_string() -> None:
    assert announcement(categories="trade").categories == ("trade",)


def test_categories_that_are_not_a_list_are_refused() -> None:
    with pytest.raises(SubscriptionError, match="categories must be a list of strings"):
        parse_request(_request({"type": "announcement", "categories": 5}))
