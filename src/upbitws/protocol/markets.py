"""The exchange's market list, and subscriptions checked against it (sans-I/O).

Upbit ignores an unknown code silently (docs/protocol.md §3.3) and sends nothing at all for an
unsupported orderbook ``level`` (§3.4), so a typo there costs a user minutes of silence and a
data-timeout reconnect loop instead of an error. The client fetches the market list
(``GET /v1/market/all?is_details=true``, §10) and ``supported_levels`` (``GET
/v1/orderbook/instruments``, §3.4) and hands them to :func:`check_subscriptions`, which names
what Upbit would ignore. Fetching lives in ``client/markets.py``; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from upbitws.exceptions import SubscriptionError

if TYPE_CHECKING:
    from decimal import Decimal

    from upbitws.protocol.subscriptions import Subscription

__all__ = ["MarketInfo", "check_subscriptions", "codes_of", "level_codes"]


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One listed pair of ``GET /v1/market/all?is_details=true`` (§10)."""

    code: str  # QUOTE-BASE, e.g. KRW-BTC
    korean_name: str
    english_name: str
    #: ``market_event.warning``: Upbit's investment warning (유의 종목).
    warning: bool = False
    #: The ``market_event.caution`` flags that are set, e.g. ``("PRICE_FLUCTUATIONS",)``.
    cautions: tuple[str, ...] = ()

    @property
    def quote(self) -> str:
        """The quote currency: ``KRW`` of ``KRW-BTC``."""
        return self.code.partition("-")[0]

    @property
    def base(self) -> str:
        """The traded asset: ``BTC`` of ``KRW-BTC``."""
        return self.code.partition("-")[2]


def codes_of(subscriptions: Iterable[Subscription]) -> set[str]:
    """Every market code the subscriptions name (private ``myOrder`` codes included)."""
    return {code for sub in subscriptions for code in sub.codes}


def level_codes(subscriptions: Iterable[Subscription]) -> set[str]:
    """Codes of orderbook subscriptions with a ``level``: they need ``supported_levels``."""
    return {code for s in subscriptions if s.level is not None for code in s.codes}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def check_subscriptions(
    subscriptions: Iterable[Subscription],
    known: Collection[str],
    levels: Mapping[str, Collection[Decimal]],
) -> None:
    """Raise :class:`SubscriptionError` naming every code Upbit does not list (``known``) and
    every orderbook ``level`` outside the code's ``supported_levels`` (``levels``; a code
    missing from it is not checked)."""
    subs = list(subscriptions)
    unknown: dict[str, list[str]] = {}
    for sub in subs:
        for code in sub.codes:
            if code not in known:
                unknown.setdefault(code, []).append(sub.type)
    if unknown:
        names = ", ".join(f"{code!r} ({'/'.join(types)})" for code, types in unknown.items())
        plural = "s" if len(unknown) > 1 else ""
        raise SubscriptionError(
            f"unknown market{plural} {names}: Upbit lists no such pair and would send nothing "
            "for it (docs/protocol.md §3.3); check the spelling (QUOTE-BASE, e.g. KRW-BTC) or "
            "list the pairs with 'upbitws markets'",
            name="UNKNOWN_CODE",
        )
    for sub in subs:
        if sub.level is None:
            continue
        for code in sub.codes:
            supported = levels.get(code)
            if supported is None or sub.level in supported:
                continue
            shown = ", ".join(_plain(x) for x in sorted(supported))
            raise SubscriptionError(
                f"orderbook level {_plain(sub.level)} is not supported for {code}: Upbit would "
                f"send nothing (docs/protocol.md §3.4); supported levels: {shown}",
                name="UNSUPPORTED_LEVEL",
            )
