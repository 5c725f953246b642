"""Quotation REST routes a client of ours needs (protocol §10), with Upbit's shapes and errors.

* ``GET /v1/market/all[?is_details=true]`` (legacy ``isDetails`` accepted)
* ``GET /v1/trades/ticks?market=&count=&cursor=&days_ago=&to=``: newest first; ``count``
  default 1, at most 500 (larger values are clamped); ``cursor`` returns trades older than that
  ``sequential_id``. Only trades of this process's life are there, bounded by ``history_size``
  per market (default 100,000).
* ``GET /v1/orderbook/instruments?markets=``: ``tick_size`` and ``supported_levels`` (§3.4).

Errors: ``404 {"error":{"name":404,"message":"Code not found"}}`` for an unknown market,
``400 {"error":{"name":400,"message":"Type mismatch error. Check the parameters type!"}}`` for
a bad parameter. Every response carries ``Remaining-Req: group=…; min=…; sec=…``; more than
``rest_rate_limit`` (default 10) requests a second per IP and group get HTTP 429.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from upbitws.simulator.catalog import supported_levels, tick_size
from upbitws.simulator.frames import rest_tick
from upbitws.simulator.limits import KeyedWindow

if TYPE_CHECKING:
    from upbitws.simulator.engine import Exchange
    from upbitws.simulator.stats import Stats

__all__ = ["MAX_TICKS", "RestRoutes"]

MAX_TICKS = 500
_JSON = msgspec.json.Encoder(decimal_format="number")
_TYPE_MISMATCH = "Type mismatch error. Check the parameters type!"
_MISSING = "Missing request parameter error. Check the required parameters!"
_CAUTIONS = (
    "PRICE_FLUCTUATIONS",
    "TRADING_VOLUME_SOARING",
    "DEPOSIT_AMOUNT_SOARING",
    "GLOBAL_PRICE_DIFFERENCES",
    "CONCENTRATION_OF_SMALL_ACCOUNTS",
)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with numbers written as JSON numbers (Decimal text kept)."""
    return web.Response(
        body=_JSON.encode(body), status=status, content_type="application/json", headers=headers
    )


def rest_error(status: int, message: str) -> web.Response:
    """Upbit's quotation error shape; ``name`` is the integer status there (§10)."""
    return json_response({"error": {"name": status, "message": message}}, status)


class _Fail(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _int(query: Any, name: str, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise _Fail(rest_error(400, _TYPE_MISMATCH)) from exc


class RestRoutes:
    """Handlers bound to one exchange; ``add_to(app)`` registers them."""

    def __init__(self, exchange: Exchange, stats: Stats, rate_limit: int | None) -> None:
        self._ex = exchange
        self._stats = stats
        self._window = None if rate_limit is None else KeyedWindow(rate_limit)

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/v1/market/all", self.market_all)
        app.router.add_get("/v1/trades/ticks", self.trades_ticks)
        app.router.add_get("/v1/orderbook/instruments", self.instruments)

    def _admit(self, request: web.Request, group: str) -> dict[str, str]:
        """Count the request in its (IP, group) window; ``_Fail`` with 429 when over."""
        self._stats.rest_requests += 1
        if self._window is None:
            return {"Remaining-Req": f"group={group}; min=600; sec=9"}
        key = f"{request.remote or '?'}|{group}"
        admitted, left, retry = self._window.admit(key, asyncio.get_running_loop().time())
        if not admitted:
            headers = {
                "Remaining-Req": f"group={group}; min=0; sec=0",
                "Retry-After": str(max(1, math.ceil(retry))),
            }
            body = {"error": {"name": 429, "message": "Too many API requests."}}
            raise _Fail(json_response(body, 429, headers))
        return {"Remaining-Req": f"group={group}; min=600; sec={left}"}

    async def market_all(self, request: web.Request) -> web.Response:
        try:
            headers = self._admit(request, "market")
            raw = request.query.get("is_details", request.query.get("isDetails", "false"))
            if raw.lower() not in ("true", "false"):
                raise _Fail(rest_error(400, _TYPE_MISMATCH))
        except _Fail as fail:
            return fail.response
        details = raw.lower() == "true"
        rows: list[dict[str, Any]] = []
        for sim in self._ex.markets.values():
            spec = sim.spec
            row: dict[str, Any] = {
                "market": spec.code,
                "korean_name": spec.korean_name,
                "english_name": spec.english_name,
            }
            if details:
                row["market_event"] = {
                    "warning": spec.warning,
                    "caution": dict.fromkeys(_CAUTIONS, False),
                }
            rows.append(row)
        return json_response(rows, headers=headers)

    async def trades_ticks(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            headers = self._admit(request, "trade")
            market = q.get("market")
            if not market:
                raise _Fail(rest_error(400, _MISSING))
            sim = self._ex.markets.get(market.upper())  # REST accepts lower case (§3.3)
            count = _int(q, "count", 1)
            cursor = _int(q, "cursor", None)
            days_ago = _int(q, "days_ago", None)
            to = q.get("to", "").replace(":", "")
            if count is None or count < 1:
                raise _Fail(rest_error(400, _TYPE_MISMATCH))
            if days_ago is not None and not 1 <= days_ago <= 7:
                raise _Fail(rest_error(400, _TYPE_MISMATCH))
            if to and (len(to) != 6 or not to.isascii() or not to.isdigit()):
                raise _Fail(rest_error(400, _TYPE_MISMATCH))
            if sim is None:
                raise _Fail(rest_error(404, "Code not found"))
        except _Fail as fail:
            return fail.response
        count = min(count, MAX_TICKS)
        history = sim.history
        day = ""
        if days_ago is not None and history:
            newest = datetime.fromtimestamp(history[-1].timestamp / 1000, UTC)
            day = (newest - timedelta(days=days_ago)).strftime("%Y-%m-%d")
        rows: list[dict[str, Any]] = []
        for trade in reversed(history):
            if cursor is not None and trade.sequential_id >= cursor:
                continue
            row = rest_tick(sim.code, trade)
            if day and row["trade_date_utc"] != day:
                continue
            if to and row["trade_time_utc"].replace(":", "") >= to:
                continue
            rows.append(row)
            if len(rows) >= count:
                break
        return json_response(rows, headers=headers)

    async def instruments(self, request: web.Request) -> web.Response:
        try:
            headers = self._admit(request, "orderbook")
            raw = request.query.get("markets")
            if not raw:
                raise _Fail(rest_error(400, _MISSING))
        except _Fail as fail:
            return fail.response
        rows: list[dict[str, Any]] = []
        for code in (c.strip().upper() for c in raw.split(",")):
            sim = self._ex.markets.get(code)
            if sim is None:
                continue
            rows.append(
                {
                    "market": code,
                    "quote_currency": sim.spec.quote,
                    "tick_size": format(tick_size(code, sim.bid), "f"),
                    "supported_levels": [format(x, "f") for x in supported_levels(code, sim.bid)],
                }
            )
        if not rows:
            return rest_error(404, "Code not found")
        return json_response(rows, headers=headers)
