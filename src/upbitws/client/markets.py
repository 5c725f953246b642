"""The market list from REST, and the check of a stream's subscriptions against it.

* :func:`markets` — ``await upbitws.markets(quote="KRW")``: every listed pair with its names
  and Upbit's warning / caution flags (``GET /v1/market/all?is_details=true``,
  docs/protocol.md §10).
* :class:`MarketCheck` — what a stream runs on connect and on :meth:`Stream.subscribe`
  (``check_markets=True``): codes against the market list, orderbook ``level`` against
  ``supported_levels`` (``GET /v1/orderbook/instruments``, §3.4), both cached for the stream's
  life. An unknown code or level raises :class:`SubscriptionError` naming it; when REST cannot
  be reached (or is not Upbit's) the stream proceeds and logs a WARNING that it could not check.

The REST origin follows the WebSocket URL the way backfill's does (``wss://api.upbit.com/…`` →
``https://api.upbit.com``; the simulator's ``ws://127.0.0.1:PORT/…`` → ``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import msgspec

from upbitws.client.options import public_url
from upbitws.client.rest import rest_base_url
from upbitws.exceptions import SubscriptionError, UpbitWSError
from upbitws.protocol.markets import MarketInfo, check_subscriptions, codes_of, level_codes

if TYPE_CHECKING:
    from upbitws.protocol.subscriptions import Subscription

__all__ = [
    "MarketCheck",
    "MarketInfo",
    "markets",
    "orderbook_levels",
    "parse_markets",
    "rest_origin",
]

log = logging.getLogger("upbitws")

MARKETS_PATH: Final = "/v1/market/all"
INSTRUMENTS_PATH: Final = "/v1/orderbook/instruments"
_ACCEPT: Final = {"Accept": "application/json"}


class _MarketEvent(msgspec.Struct):
    warning: bool = False
    caution: dict[str, bool] = {}


class _MarketRow(msgspec.Struct):
    market: str
    korean_name: str = ""
    english_name: str = ""
    market_event: _MarketEvent | None = None


class _Instrument(msgspec.Struct):
    market: str
    supported_levels: list[Decimal] = []


_MARKETS: Final = msgspec.json.Decoder(list[_MarketRow])
_INSTRUMENTS: Final = msgspec.json.Decoder(list[_Instrument])


def rest_origin(url: str | None = None, region: str = "kr") -> str:
    """The quotation REST origin for a WebSocket or REST ``url`` (default: the region's host)."""
    return rest_base_url(url or public_url(region))


async def _get(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], request_timeout: float
) -> bytes:
    try:
        async with session.get(
            url,
            params=params,
            headers=_ACCEPT,
            timeout=aiohttp.ClientTimeout(total=request_timeout),
        ) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise UpbitWSError(f"GET {url} failed: {reason}") from exc
    if status != 200:
        text = body[:200].decode("utf-8", "replace")
        raise UpbitWSError(f"GET {url} answered HTTP {status}: {text}", status_code=status)
    return body


def _info(row: _MarketRow) -> MarketInfo:
    event = row.market_event
    return MarketInfo(
        code=row.market,
        korean_name=row.korean_name,
        english_name=row.english_name,
        warning=bool(event and event.warning),
        cautions=tuple(k for k, v in event.caution.items() if v) if event else (),
    )


def parse_markets(body: bytes | str) -> list[MarketInfo]:
    """The rows of a ``/v1/market/all`` answer (with or without details); raises
    ``msgspec.DecodeError`` for anything else."""
    return [_info(row) for row in _MARKETS.decode(body)]


async def _with_session(session: aiohttp.ClientSession | None, call: Any) -> Any:
    if session is not None:
        return await call(session)
    async with aiohttp.ClientSession() as owned:
        return await call(owned)


async def markets(
    *,
    quote: str | None = None,
    url: str | None = None,
    region: str = "kr",
    session: aiohttp.ClientSession | None = None,
    request_timeout: float = 10.0,
) -> list[MarketInfo]:
    """Every pair Upbit lists (``quote="KRW"``: only KRW-…), with names and warning flags.

    ``url`` is a WebSocket URL (its REST origin is used, e.g. a simulator's ``ws_url``) or a
    REST origin; default: ``region``'s host. Raises :class:`UpbitWSError` when REST fails.
    """
    origin = rest_origin(url, region)

    async def fetch(s: aiohttp.ClientSession) -> list[MarketInfo]:
        body = await _get(s, origin + MARKETS_PATH, {"is_details": "true"}, request_timeout)
        try:
            return parse_markets(body)
        except msgspec.DecodeError as exc:
            raise UpbitWSError(f"unexpected {MARKETS_PATH} body from {origin}: {exc}") from exc

    found: list[MarketInfo] = await _with_session(session, fetch)
    if quote is not None:
        wanted = quote.strip().upper()
        found = [m for m in found if m.quote == wanted]
    return found


async def orderbook_levels(
    codes: Iterable[str],
    *,
    url: str | None = None,
    region: str = "kr",
    session: aiohttp.ClientSession | None = None,
    request_timeout: float = 10.0,
) -> dict[str, tuple[Decimal, ...]]:
    """``supported_levels`` per code (``GET /v1/orderbook/instruments``, §3.4)."""
    origin = rest_origin(url, region)
    wanted = sorted(set(codes))
    if not wanted:
        return {}

    async def fetch(s: aiohttp.ClientSession) -> dict[str, tuple[Decimal, ...]]:
        params = {"markets": ",".join(wanted)}
        body = await _get(s, origin + INSTRUMENTS_PATH, params, request_timeout)
        try:
            rows = _INSTRUMENTS.decode(body)
        except msgspec.DecodeError as exc:
            raise UpbitWSError(f"unexpected {INSTRUMENTS_PATH} body from {origin}: {exc}") from exc
        return {row.market: tuple(row.supported_levels) for row in rows}

    result: dict[str, tuple[Decimal, ...]] = await _with_session(session, fetch)
    return result


class MarketCheck:
    """One stream's check of its subscriptions against the exchange, with a cache.

    The market list is fetched once (and once more when a code is not in it, for a pair listed
    since); each code's levels once. A failed fetch is not cached: the next check tries again.
    """

    def __init__(self, origin: str, *, timeout: float = 5.0) -> None:
        self.origin = origin
        self._timeout = timeout
        self._known: set[str] | None = None
        self._levels: dict[str, tuple[Decimal, ...]] = {}

    async def check(
        self, session: aiohttp.ClientSession, subscriptions: Iterable[Subscription]
    ) -> str | None:
        """Raise :class:`SubscriptionError` naming an unknown code or unsupported level; when
        REST cannot answer, return why (the caller says it proceeds unchecked)."""
        subs = list(subscriptions)
        codes = codes_of(subs)
        if not codes:
            return None
        try:
            if self._known is None or not codes <= self._known:
                listed = await markets(
                    url=self.origin, session=session, request_timeout=self._timeout
                )
                self._known = {m.code for m in listed}
            missing = level_codes(subs) & (self._known - self._levels.keys())
            if missing:
                self._levels.update(
                    await orderbook_levels(
                        missing, url=self.origin, session=session, request_timeout=self._timeout
                    )
                )
        except SubscriptionError:
            raise
        except UpbitWSError as exc:
            return f"could not check the subscriptions against the market list ({exc}); " + (
                "proceeding unchecked"
            )
        check_subscriptions(subs, self._known, self._levels)
        return None
