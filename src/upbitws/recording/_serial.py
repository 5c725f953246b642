"""Lifecycle events and subscriptions as JSON-ready dicts, and back (lossless, no secrets).

Events carry an :class:`~upbitws.UpbitWSError` (``cause`` / ``error``); it is kept as its
class name and structured fields, and rebuilt as the same class on replay, so
``event_to_dict(event_from_dict(event_to_dict(e))) == event_to_dict(e)``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, Final

from upbitws import exceptions
from upbitws.client import events
from upbitws.models import RecoveredTrade
from upbitws.protocol.codec import to_dict
from upbitws.protocol.subscriptions import Subscription, SubscriptionSet

__all__ = [
    "EVENT_CLASSES",
    "event_from_dict",
    "event_to_dict",
    "item_to_dict",
    "subscriptions_from_list",
    "subscriptions_to_list",
]

EVENT_CLASSES: Final[dict[str, type]] = {name: getattr(events, name) for name in events.__all__}
EVENT_CLASSES.pop("LifecycleEvent")
_ERROR_FIELDS: Final = ("name", "status_code", "close_code", "retry_after")


def _error_to_dict(error: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"class": type(error).__name__, "message": str(error)}
    for name in _ERROR_FIELDS:
        out[name] = getattr(error, name, None)
    return out


def _error_from_dict(data: dict[str, Any]) -> exceptions.UpbitWSError:
    cls = getattr(exceptions, data["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, exceptions.UpbitWSError)):
        cls = exceptions.UpbitWSError  # a class this version does not know (a newer writer)
    error = cls.__new__(cls)
    exceptions.UpbitWSError.__init__(
        error, data["message"], **{name: data.get(name) for name in _ERROR_FIELDS}
    )
    return error


def event_to_dict(event: Any) -> dict[str, Any]:
    """``{"event": "Disconnected", "endpoint": ..., "cause": {"class": ..., ...}, ...}``."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        out[field.name] = _error_to_dict(value) if isinstance(value, BaseException) else value
    return out


def event_from_dict(data: dict[str, Any]) -> Any:
    cls = EVENT_CLASSES[data["event"]]
    kwargs = {}
    for field in dataclasses.fields(cls):
        value = data[field.name]
        kwargs[field.name] = _error_from_dict(value) if isinstance(value, dict) else value
    return cls(**kwargs)


def item_to_dict(item: Any) -> dict[str, Any]:
    """What a consumer got, as a plain dict: a message (``to_dict``, exact numbers as text,
    ``"recovered": true`` for a trade recovered from REST) or an event (:func:`event_to_dict`)."""
    if type(item) in _EVENT_TYPES:
        return event_to_dict(item)
    out = to_dict(item)
    if isinstance(item, RecoveredTrade):
        out["recovered"] = True
    return out


_EVENT_TYPES: Final = frozenset(EVENT_CLASSES.values())


def subscriptions_to_list(subscriptions: SubscriptionSet) -> list[dict[str, Any]]:
    out = []
    for sub in subscriptions:
        entry: dict[str, Any] = {"type": sub.type, "codes": list(sub.codes)}
        for name in ("depth", "is_only_snapshot", "is_only_realtime", "include_body"):
            entry[name] = getattr(sub, name)
        entry["level"] = None if sub.level is None else str(sub.level)
        entry["categories"] = None if sub.categories is None else list(sub.categories)
        out.append(entry)
    return sorted(out, key=lambda e: (e["type"], e["codes"]))


def subscriptions_from_list(entries: list[dict[str, Any]], format: str) -> SubscriptionSet:
    subs = [
        Subscription(
            e["type"],
            tuple(e["codes"]),
            depth=e.get("depth"),
            level=None if e.get("level") is None else Decimal(e["level"]),
            is_only_snapshot=e.get("is_only_snapshot", False),
            is_only_realtime=e.get("is_only_realtime", False),
            categories=None if e.get("categories") is None else tuple(e["categories"]),
            include_body=e.get("include_body"),
        )
        for e in entries
    ]
    return SubscriptionSet(subs, format=format)
