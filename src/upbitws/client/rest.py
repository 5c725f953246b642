"""A small REST client for Upbit's quotation endpoints, for trade backfill.

* **Where.** The REST host follows the WebSocket URL (:func:`rest_base_url`):
  ``wss://api.upbit.com/websocket/v1`` → ``https://api.upbit.com``; a region host or the
  simulator's ``ws://127.0.0.1:PORT/websocket/v1`` → ``http://127.0.0.1:PORT``.
  ``StreamOptions.rest_url`` overrides it.
* **How fast.** Quotation REST allows 10 requests/s per IP (protocol §7, §10). Every request
  waits for a slot of one :class:`SlidingWindowLimiter`; the slots are handed out
  round-robin across codes (:meth:`RestClient.run`), so one code with a deep gap cannot
  starve the others: each waiting code gets one page per turn.
* **When refused.** 429 / 418 pause *every* request for ``Retry-After`` (or 1 s / 60 s when
  absent, as for WebSocket upgrades); network errors and 5xx are retried with a short
  capped backoff; after ``max_attempts`` the page fails with :class:`UpbitWSError`, and the
  caller declares the gap unrecoverable.
* **What comes back.** Rows become :class:`~upbitws.models.recovered.RecoveredTrade` in the
  stream's number type (exact ``Decimal`` by default), see that module for the fields REST
  lacks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Generic
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import msgspec

from upbitws.exceptions import UpbitWSError
from upbitws.models import AskBid, Change, StreamType
from upbitws.models._base import N
from upbitws.models.recovered import RecoveredTrade
from upbitws.protocol.errors import (
    DEFAULT_RETRY_AFTER_418,
    DEFAULT_RETRY_AFTER_429,
    parse_retry_after,
)
from upbitws.protocol.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from upbitws.protocol.backfill import PageRequest

__all__ = ["QUOTATION_WINDOWS", "RestClient", "RestStats", "rest_base_url"]

#: Quotation REST: 10 requests/s per IP (protocol §7, §10).
QUOTATION_WINDOWS: Final = ((10, 1.0),)
TRADES_PATH: Final = "/v1/trades/ticks"
_RETRY_BASE: Final = 0.2  # seconds; doubled per failed attempt, capped
_RETRY_CAP: Final = 3.0
_MAX_RATE_LIMITED: Final = 20  # 429 / 418 answers tolerated for one page
_ACCEPT: Final = {"Accept": "application/json"}


def rest_base_url(ws_url: str) -> str:
    """The REST origin of a WebSocket URL: scheme ``ws``→``http``, ``wss``→``https``."""
    parts = urlsplit(ws_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme.lower(), parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class _Tick(msgspec.Struct, Generic[N], frozen=True, gc=False):
    """One row of ``GET /v1/trades/ticks`` (protocol §10; unknown fields are ignored)."""

    market: str
    trade_date_utc: str  # yyyy-MM-dd
    trade_time_utc: str  # HH:mm:ss
    timestamp: int  # the trade time, ms
    trade_price: N
    trade_volume: N
    prev_closing_price: N
    change_price: N
    ask_bid: AskBid
    sequential_id: int


def _to_trade(row: _Tick[Any]) -> RecoveredTrade[Any]:
    price, prev = row.trade_price, row.prev_closing_price
    change = Change.RISE if price > prev else Change.FALL if price < prev else Change.EVEN
    return RecoveredTrade(
        code=row.market,
        trade_price=price,
        trade_volume=row.trade_volume,
        ask_bid=row.ask_bid,
        prev_closing_price=prev,
        change=change,
        change_price=abs(row.change_price),
        trade_date=row.trade_date_utc,
        trade_time=row.trade_time_utc,
        trade_timestamp=row.timestamp,
        timestamp=row.timestamp,
        sequential_id=row.sequential_id,
        stream_type=StreamType.REALTIME,
    )


@dataclass(slots=True)
class RestStats:
    """Counters of the REST client."""

    requests: int = 0
    rate_limited: int = 0  # 429 / 418 answers
    failures: int = 0  # network errors and unexpected statuses (each retried)


class RestClient:
    """Quotation REST over a shared aiohttp session; :meth:`run` must be running (owned by
    the caller's TaskGroup) for requests to be granted."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        numbers: str = "decimal",
        windows: tuple[tuple[int, float], ...] = QUOTATION_WINDOWS,
        timeout: float = 10.0,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        num: type = Decimal if numbers == "decimal" else float
        self._decoder: msgspec.json.Decoder[list[_Tick[Any]]] = msgspec.json.Decoder(
            list[_Tick[num]]  # type: ignore[valid-type]
        )
        self._limiter = SlidingWindowLimiter(windows)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_attempts = max_attempts
        self._clock = clock
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._wake = asyncio.Event()
        self._paused_until = 0.0
        self.stats = RestStats()

    # -- the slot dispatcher ----------------------------------------------------------------

    async def run(self) -> None:
        """Grant request slots, one code at a time in turn, within the rate limit; forever."""
        waiting = self._waiting
        while True:
            if not waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self._clock()
            wait = max(self._limiter.delay(now), self._paused_until - now)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            code = next(iter(waiting))
            queue = waiting.pop(code)
            future = queue.popleft()
            if queue:
                waiting[code] = queue  # to the back of the line: round-robin
            if future.done():  # the requester was cancelled
                continue
            self._limiter.record(now)
            future.set_result(None)

    async def _slot(self, code: str) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(code, deque()).append(future)
        self._wake.set()
        await future

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    # -- requests ---------------------------------------------------------------------------

    async def trades(self, request: PageRequest) -> list[RecoveredTrade[Any]]:
        """One page of ``/v1/trades/ticks``, newest first, as :class:`RecoveredTrade`."""
        url = self.base_url + TRADES_PATH
        params = request.params()
        last = "no attempt"
        failures = limited = 0
        # 429s are waited out (they pause every request), but not forever.
        while failures < self._max_attempts and limited < _MAX_RATE_LIMITED:
            await self._slot(request.market)
            self.stats.requests += 1
            try:
                async with self._session.get(
                    url, params=params, timeout=self._timeout, headers=_ACCEPT
                ) as response:
                    status = response.status
                    body = await response.read()
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    try:
                        return [_to_trade(row) for row in self._decoder.decode(body)]
                    except msgspec.DecodeError as exc:
                        raise UpbitWSError(
                            f"unexpected {TRADES_PATH} body for {request.market}: {exc}"
                        ) from exc
                last = f"HTTP {status}"
                if status in (429, 418):
                    limited += 1
                    self.stats.rate_limited += 1
                    parsed = None if retry_after is None else parse_retry_after(retry_after)
                    default = DEFAULT_RETRY_AFTER_429 if status == 429 else DEFAULT_RETRY_AFTER_418
                    self._pause(default if parsed is None else parsed)
                    continue  # the pause is the wait, for every code
                if 400 <= status < 500:  # 400 / 404 (unknown code): asking again cannot help
                    raise UpbitWSError(
                        f"{TRADES_PATH} refused {request.market} with HTTP {status}: "
                        f"{body[:200].decode('utf-8', 'replace')}",
                        status_code=status,
                    )
            self.stats.failures += 1
            failures += 1
            await asyncio.sleep(min(_RETRY_CAP, _RETRY_BASE * 2 ** (failures - 1)))
        raise UpbitWSError(f"{TRADES_PATH} for {request.market} kept failing; last: {last}")
