"""Frames that are not market data: status, error, LIST_SUBSCRIPTIONS reply (§4.10, §4.12, §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

import msgspec

__all__ = ["ErrorDetail", "ErrorFrame", "StatusFrame", "SubscriptionEntry", "SubscriptionList"]


class StatusFrame(msgspec.Struct, frozen=True, gc=False):
    """``{"status":"UP"}``: sent every 10 s after the client's text ``PING`` (§5)."""

    status: str

    @property
    def type(self) -> Literal["status"]:
        return "status"


class ErrorDetail(msgspec.Struct, frozen=True, gc=False):
    """Upbit's error name and message (key order varies on the wire, §6)."""

    name: str
    message: str


class ErrorFrame(msgspec.Struct, frozen=True, gc=False):
    """``{"error":{"name":…,"message":…}}``; the server closes with 1000 after it (§6)."""

    error: ErrorDetail

    @property
    def type(self) -> Literal["error"]:
        return "error"


class SubscriptionEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One entry of a LIST_SUBSCRIPTIONS result; absent keys stay absent when encoded
    (a myAsset entry has no ``codes``, only orderbook entries a ``level``, §4.10)."""

    __simple_keys__: ClassVar[dict[str, str]] = {"type": "ty", "codes": "cds", "level": "lv"}

    type: str
    codes: tuple[str, ...] | None = None
    level: Decimal | None = None


class SubscriptionList(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The LIST_SUBSCRIPTIONS reply: what this connection is subscribed to (§4.10)."""

    __simple_keys__: ClassVar[dict[str, str]] = {
        "method": "mthd",
        "result": "rslt",
        "ticket": "tckt",
    }

    method: str
    result: tuple[SubscriptionEntry, ...]
    ticket: str | int | None = None  # String now; Long in older docs

    @property
    def type(self) -> Literal["subscription_list"]:
        return "subscription_list"
