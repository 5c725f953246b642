"""The wire side of subscriptions: one complete request out, and a request parsed back.

:func:`render_request` renders a whole :class:`SubscriptionSet` as the single request Upbit
expects (§3.1): ticket, one data type object per distinct (type, options), then the format.
There is no incremental form, because Upbit replaces the whole set on every request (§3.5).
:func:`render_list_subscriptions` asks what the connection is subscribed to (§4.10).

:func:`parse_request` turns a request back into a :class:`SubscriptionSet`, leniently where
Upbit is (camelCase flags, the format object anywhere after the ticket): it round-trips what
:func:`render_request` sends and reads the requests other clients send. It is the client's
validation, not the server's; the simulator validates as the server does in
``simulator/requests.py``.

Sans-I/O: the ticket is passed in; nothing here reads the clock or draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from upbitws.protocol.fields import (
    check_flag,
    check_format,
    check_type,
    fail,
    is_private,
    split_code,
)
from upbitws.protocol.formats import Format
from upbitws.protocol.subscriptions import Subscription, SubscriptionSet

__all__ = ["ParsedRequest", "parse_request", "render_list_subscriptions", "render_request"]

_DATA_KEYS: Final = frozenset(
    {"type", "codes", "level", "categories", "include_body"}
    | {"is_only_snapshot", "is_only_realtime", "isOnlySnapshot", "isOnlyRealtime"}
)


def _check_ticket(ticket: object) -> str:
    if isinstance(ticket, str) and ticket:
        return ticket
    raise fail(f"ticket must be a non-empty string such as a UUID, not {ticket!r}", "NO_TICKET")


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
        raise fail(
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
        items.append({"format": check_format(format).value})
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
        raise fail(f"request is not JSON ({exc}): send a JSON array", "WRONG_FORMAT") from exc
    if not isinstance(items, list) or not items:
        raise fail("a request must be a non-empty JSON array", "WRONG_FORMAT")
    head = items[0]
    if not isinstance(head, dict) or "ticket" not in head:
        raise fail('the first element must be the ticket object {"ticket": "..."}', "NO_TICKET")
    if len(head) > 1:
        raise fail(f"the ticket object carries other fields {head!r}: send them separately")
    ticket = head["ticket"]
    if isinstance(ticket, int) and not isinstance(ticket, bool):
        ticket = str(ticket)  # older docs typed the ticket as Long (§3.1)
    ticket = _check_ticket(ticket)
    fmt: Format | None = None
    method: str | None = None
    subs: list[Subscription] = []
    for item in items[1:]:
        if not isinstance(item, dict):
            raise fail(f"request element {item!r} is not an object", "WRONG_FORMAT")
        if "type" in item:
            subs.extend(_parse_object(item))
        elif set(item) == {"format"}:
            if fmt is not None:
                raise fail("the request has two format objects: send one (§3.1)")
            fmt = check_format(item["format"])
        elif set(item) == {"method"}:
            if item["method"] != "LIST_SUBSCRIPTIONS":
                raise fail(f"unknown method {item['method']!r}: use 'LIST_SUBSCRIPTIONS'")
            method = "LIST_SUBSCRIPTIONS"
        else:
            raise fail(
                f"unexpected request element {item!r}: a data object needs 'type'", "NO_TYPE"
            )
    if method is not None and subs:
        raise fail("LIST_SUBSCRIPTIONS cannot be combined with data type objects")
    if method is None and not subs:
        raise fail("the request has no data type object: add e.g. a ticker", "NO_TYPE")
    subscriptions = None if method else SubscriptionSet(subs, format=fmt or Format.DEFAULT)
    return ParsedRequest(ticket, subscriptions, fmt, method)


def _parse_flag(item: dict[str, Any], snake: str, camel: str) -> bool:
    values = {check_flag(key, item[key]) for key in (snake, camel) if key in item}
    if len(values) > 1:
        raise fail(f"{snake} and {camel} disagree: send one of them")
    return values == {True}


def _parse_object(item: dict[str, Any]) -> list[Subscription]:
    type_ = check_type(item["type"])
    if unknown := sorted(set(item) - _DATA_KEYS):
        raise fail(f"unknown field(s) {unknown} in the {type_} object", "WRONG_FORMAT")
    if "codes" not in item and not is_private(type_):
        raise fail(f'{type_} needs codes, e.g. "codes": ["KRW-BTC"]', "NO_CODES")
    if type_ == "myAsset" and "codes" in item:
        raise fail("myAsset must not carry codes, not even []", "WRONG_FORMAT")
    codes = item.get("codes", [])
    if not isinstance(codes, list):
        raise fail(f"{type_} codes must be a JSON array of strings", "WRONG_FORMAT")
    # Each orderbook code carries its own depth on the wire; ours is per Subscription.
    by_depth: dict[int | None, list[str]] = {}
    for raw in codes:
        depth = split_code(type_, raw)[1] if type_ == "orderbook" else None
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
