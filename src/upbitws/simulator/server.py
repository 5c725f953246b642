"""The simulator: one aiohttp app on one host:port, like api.upbit.com (§1, §5, §6, §12).

Routes: ``/websocket/v1`` and ``/websocket/v1/private`` (WebSocket), the quotation REST routes
of ``rest.py``, and the control routes ``/_sim/orders``, ``/_sim/faults``, ``/_sim/stats``,
``/_sim/account``. Use it in process::

    async with Simulator(seed=1, markets=["KRW-BTC", "KRW-ETH"]) as sim:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(sim.ws_url) as ws:
                ...

or from the command line: ``upbitws simulate --port 8080``.

The control routes answer only loopback ``Host`` / ``Origin`` headers, take JSON POSTs only,
and with ``control_token`` need ``Authorization: Bearer TOKEN`` (:class:`ControlGuard`); no
route answers 500 (an unexpected failure is logged and answered 400).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from upbitws.credentials import Credentials
from upbitws.models import StreamType, Trade
from upbitws.simulator.account import Account, OrderError
from upbitws.simulator.auth import HTTP_401, AuthFailure, JWTVerifier
from upbitws.simulator.catalog import build_catalog
from upbitws.simulator.config import SimulatorConfig
from upbitws.simulator.engine import Exchange
from upbitws.simulator.faults import Fault, FaultBook
from upbitws.simulator.frames import trade_frame
from upbitws.simulator.limits import Escalation, KeyedWindow, SendBudget
from upbitws.simulator.replay import replay_exchange
from upbitws.simulator.requests import ERROR_MESSAGES
from upbitws.simulator.rest import RestRoutes, json_response
from upbitws.simulator.session import Session, UpbitWebSocket
from upbitws.simulator.stats import Stats

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = ["PRIVATE_PATH", "PUBLIC_PATH", "ControlGuard", "Simulator", "is_loopback"]

PUBLIC_PATH = "/websocket/v1"
PRIVATE_PATH = "/websocket/v1/private"
_SHUTDOWN = 2.0  # seconds given to live connections to close on exit


def _error(
    status: int, name: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response({"error": {"name": name, "message": message}}, status, headers)


_log = logging.getLogger("upbitws.simulator")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal, IPv6 with or without brackets) is loopback."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_part(authority: str) -> str:
    """``"127.0.0.1:8765"`` -> ``"127.0.0.1"``; ``"[::1]:80"`` -> ``"[::1]"``."""
    authority = authority.strip()
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


class ControlGuard:
    """Who may use the ``/_sim/*`` control routes (place orders, inject faults).

    A web page open in the developer's browser can send requests to ``127.0.0.1``: a
    ``Host`` that is not loopback (DNS rebinding) or a cross-site ``Origin`` is refused with
    403, and a POST must be ``Content-Type: application/json`` (which a page cannot send
    cross-origin without a CORS preflight, which the simulator never grants). With a
    ``control_token`` every control request must carry ``Authorization: Bearer TOKEN``
    (compared in constant time); ``control_hosts`` adds ``Host`` names beyond loopback (for a
    simulator reached over the network with ``--allow-remote``); ``"*"`` there accepts any
    ``Host`` and ``Origin``, but only together with a token.
    """

    def __init__(self, token: str | None, hosts: tuple[str, ...] = ()) -> None:
        self._token = token.encode() if token else None
        self._hosts = frozenset(h.lower() for h in hosts)

    def _allowed_host(self, host: str) -> bool:
        if "*" in self._hosts and self._token is not None:  # any Host, token required
            return True
        return is_loopback(host) or host.lower().strip("[]") in self._hosts

    def refusal(self, request: web.Request) -> web.Response | None:
        """The error response for a refused control request, or None."""
        host = request.headers.get("Host")
        if host is None or not self._allowed_host(_host_part(host)):
            return _error(
                403, "forbidden", f"control routes answer only a loopback Host, got {host!r}"
            )
        origin = request.headers.get("Origin")
        if origin is not None:
            parsed = urlsplit(origin)
            if parsed.scheme not in ("http", "https") or not self._allowed_host(
                parsed.hostname or ""
            ):
                return _error(
                    403, "forbidden", f"control routes refuse cross-site Origin {origin!r}"
                )
        if self._token is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                return _error(
                    401,
                    "unauthorized",
                    "control routes need 'Authorization: Bearer <control token>'",
                )
        if request.method == "POST" and request.content_type != "application/json":
            return _error(
                415,
                "unsupported_media_type",
                f"control routes take Content-Type: application/json, got {request.content_type!r}",
            )
        return None


@web.middleware
async def _never_500(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """No route answers 500: an unexpected failure is logged (it is a bug to fix) and the
    client gets a 400 that says the request could not be handled."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        _log.exception("simulator: unexpected failure on %s %s", request.method, request.path)
        return _error(
            400, "invalid_request", f"request could not be handled ({type(exc).__name__})"
        )


class Simulator:
    """A local Upbit. Every keyword is a :class:`SimulatorConfig` field (documented there)."""

    def __init__(self, config: SimulatorConfig | None = None, **knobs: Any) -> None:
        self.config = replace(config or SimulatorConfig(), **knobs)
        cfg = self.config
        markets = list(cfg.markets) if cfg.markets is not None else None
        self.exchange = Exchange(
            build_catalog(markets, cfg.market_count),
            seed=cfg.seed,
            trade_rate=cfg.trade_rate,
            history_size=cfg.history_size,
        )
        if cfg.replay is not None:  # serve a recording instead (simulator/replay.py)
            self.exchange = replay_exchange(cfg)
        self.account = Account(self.exchange, cfg.balances, cfg.seed)
        self._verifier = JWTVerifier(cfg.access_key, cfg.secret_key)
        self._faults = FaultBook()
        self._stats = Stats()
        self._budget = SendBudget(cfg.send_budget_bytes)
        self._control = ControlGuard(cfg.control_token, tuple(cfg.control_hosts))
        self._connects = None if cfg.connect_limit is None else KeyedWindow(cfg.connect_limit)
        self._escalation = (
            None
            if cfg.block_after_429s is None
            else Escalation(
                cfg.block_after_429s, cfg.block_window, cfg.block_seconds, cfg.block_max
            )
        )
        self.sessions: set[Session] = set()
        self._runner: web.AppRunner | None = None
        self._engine: asyncio.Task[None] | None = None
        self.host = cfg.host
        self.port = cfg.port

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def build_app(self) -> web.Application:
        """The aiohttp application (routes only; :meth:`start` also runs the market)."""
        app = web.Application(middlewares=[_never_500, self._guard_control])
        app.router.add_get(PUBLIC_PATH, self._public)
        app.router.add_get(PRIVATE_PATH, self._private)
        RestRoutes(self.exchange, self._stats, self.config.rest_rate_limit).add_to(app)
        app.router.add_post("/_sim/orders", self._post_order)
        app.router.add_delete("/_sim/orders/{uuid}", self._delete_order)
        app.router.add_post("/_sim/faults", self._post_fault)
        app.router.add_delete("/_sim/faults", self._delete_faults)
        app.router.add_get("/_sim/stats", self._get_stats)
        app.router.add_get("/_sim/account", self._get_account)
        return app

    @web.middleware
    async def _guard_control(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            refusal = self._control.refusal(request)
            if refusal is not None:
                self._stats.control_refused += 1
                return refusal
        return await handler(request)

    async def start(self) -> None:
        """Start the market clock and listen on ``host:port`` (port 0: a free port)."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        self.exchange.start()
        self._engine = asyncio.create_task(self.exchange.run(), name="upbitws-sim-engine")
        runner = web.AppRunner(self.build_app(), handle_signals=False, shutdown_timeout=_SHUTDOWN)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._stop_engine()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def _stop_engine(self) -> None:
        if self._engine is not None:
            self._engine.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._engine
            self._engine = None

    async def aclose(self) -> None:
        """Close every connection (1001 going away), stop listening and stop the market."""
        for session in list(self.sessions):
            session.close_soon(1001)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SHUTDOWN):
                for session in list(self.sessions):
                    await session.finished.wait()
        for session in list(self.sessions):
            session.abort()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._stop_engine()

    @property
    def url(self) -> str:
        """``http://host:port`` (REST and control routes)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port/websocket/v1``: the public (quotation) endpoint."""
        return f"ws://{self.host}:{self.port}{PUBLIC_PATH}"

    @property
    def private_ws_url(self) -> str:
        """``ws://host:port/websocket/v1/private``: myOrder, myAsset (Bearer JWT)."""
        return f"ws://{self.host}:{self.port}{PRIVATE_PATH}"

    @property
    def credentials(self) -> Credentials:
        """The simulator's key pair as :class:`upbitws.Credentials` (test keys, never Upbit's):
        ``connect(..., url=sim.ws_url, credentials=sim.credentials)`` for private types."""
        return Credentials(self.config.access_key, self.config.secret_key)

    # -- in-process control (same operations as the /_sim routes) --------------------------
    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        price: object = None,
        volume: object = None,
        identifier: str | None = None,
    ) -> str:
        """Place an order on the simulated account; returns its uuid (``OrderError``)."""
        try:
            return self.account.place(market, side, ord_type, price, volume, identifier).uuid
        except ArithmeticError as exc:  # numbers the 28-digit decimal context cannot hold
            raise OrderError("invalid_parameter", "price or volume out of range") from exc

    def cancel_order(self, uuid: str) -> None:
        """Cancel a waiting order (``OrderError`` if unknown or already finished)."""
        self.account.cancel(uuid)

    def apply_fault(self, kind: str | Fault, **fields: Any) -> int:
        """Apply a fault (faults.py); returns how many live connections it hit now."""
        fault = kind if isinstance(kind, Fault) else Fault(kind=kind, **fields)
        if fault.kind == "reject_upgrade" or fault.target == "next":
            self._faults.add(fault)
            return 0
        for session in list(self.sessions):
            session.apply_fault(fault)
        return len(self.sessions)

    def clear_faults(self) -> None:
        """Drop pending faults and lift ongoing fault modes on live connections."""
        self._faults.clear()
        for session in self.sessions:
            session.clear_faults()

    def stats(self) -> dict[str, Any]:
        """Connections, subscriptions, messages sent and other counters."""
        out: dict[str, Any] = self._stats.as_dict()
        out["connections"] = len(self.sessions)
        out["subscriptions"] = self.exchange.subscription_count()
        out["trades"] = self.exchange.trade_count
        out["pending_faults"] = self._faults.pending()
        out["queued_bytes"] = self._budget.total
        return out

    def trades(self, market: str) -> list[Trade[Decimal]]:
        """Every trade published for ``market`` still in history, oldest first."""
        sim = self.exchange.markets[market]
        return [trade_frame(market, t, StreamType.REALTIME) for t in sim.history]

    # -- WebSocket ----------------------------------------------------------------------------
    async def _public(self, request: web.Request) -> web.StreamResponse:
        return await self._websocket(request, private=False)

    async def _private(self, request: web.Request) -> web.StreamResponse:
        return await self._websocket(request, private=True)

    async def _websocket(self, request: web.Request, *, private: bool) -> web.StreamResponse:
        cfg = self.config
        rejection = self._faults.upgrade_rejection()
        if rejection is not None:
            self._stats.rejected_upgrades += 1
            retry = rejection.retry_after_header
            if rejection.status == 418:
                return self._blocked(float(retry or 0), header=True)
            headers = {"Retry-After": retry} if retry is not None else None
            if rejection.status == 401:
                return _error(401, "jwt_verification", HTTP_401["jwt_verification"])
            return _error(429, "Too Many Requests", "rejected", headers)
        authorization = request.headers.get("Authorization")
        over_limit = False
        left = cfg.connect_limit or 5
        if self._connects is not None:  # websocket-connect: 5/s per IP or access key (§7)
            key = (JWTVerifier.peek_access_key(authorization) if private else None) or (
                request.remote or "?"
            )
            now = asyncio.get_running_loop().time()
            if self._escalation is not None:
                blocked = self._escalation.blocked_for(key, now)
                if blocked > 0:  # §7: repeated 429s -> 418 with a growing block
                    self._stats.blocked_upgrades += 1
                    return self._blocked(blocked, header=cfg.block_retry_after_header)
            admitted, left, retry_after = self._connects.admit(key, now)
            if not admitted:
                self._stats.rate_limited += 1
                if cfg.rate_limit_answer == "http":
                    if self._escalation is not None:
                        block = self._escalation.record_429(key, now)
                        if block > 0:
                            self._stats.blocked_upgrades += 1
                            return self._blocked(block, header=cfg.block_retry_after_header)
                    headers = {
                        "Retry-After": str(max(1, math.ceil(retry_after))),
                        "Remaining-Req": "group=websocket; min=0; sec=0",
                    }
                    return _error(429, "Too Many Requests", "Too many requests", headers)
                over_limit = True
        auth_failed = False
        if private:
            try:
                self._verifier.verify(authorization)
            except AuthFailure as failure:
                # §14.A: a token that is there but wrong is refused at the upgrade (401, like
                # a REST call); a missing one is accepted and answered with INVALID_AUTH.
                http = cfg.auth_failure == "http" or (
                    cfg.auth_failure == "by_case" and bool(authorization)
                )
                if http:
                    self._stats.rejected_upgrades += 1
                    return _error(401, failure.name, HTTP_401[failure.name])
                auth_failed = True
        ws = UpbitWebSocket(
            error_close_delay=cfg.error_close_delay,
            autoping=False,
            compress=cfg.compression,
            timeout=_SHUTDOWN,
            max_msg_size=cfg.max_request_bytes,
        )
        if not ws.can_prepare(request):
            return _error(400, "WRONG_FORMAT", "WebSocket upgrade expected")
        # Observed on the upgrade reply: "remaining-req: group=websocket; min=300; sec=3" (§2.1).
        ws.headers["Remaining-Req"] = f"group=websocket; min=300; sec={left}"
        ws.headers["Limit-By-Ip"] = "Yes"
        await ws.prepare(request)
        session = Session(
            ws,
            request,
            exchange=self.exchange,
            config=cfg,
            stats=self._stats,
            private=private,
            auth_failed=auth_failed,
            budget=self._budget,
        )
        self._stats.connections_total += 1
        self.sessions.add(session)
        try:
            for fault in self._faults.for_new_connection():
                session.apply_fault(fault)
            if over_limit:
                session.reject("TOO_MANY_REQUESTS", ERROR_MESSAGES["TOO_MANY_REQUESTS"])
            await session.run()
        finally:
            self.sessions.discard(session)
        return ws

    def _blocked(self, seconds: float, *, header: bool) -> web.Response:
        """HTTP 418 with the block time in the body (§7, §14.A: Upbit puts it there) and, by
        default, in ``Retry-After``."""
        whole = max(1, math.ceil(seconds))
        headers = {"Retry-After": str(whole)} if header else None
        message = f"Too many requests; blocked for {whole} seconds"
        return _error(418, "too_many_requests", message, headers)

    # -- control routes ---------------------------------------------------------------------
    @staticmethod
    async def _body(request: web.Request) -> Any:
        try:
            return msgspec.json.decode(await request.read())
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ValueError(f"body is not valid JSON ({exc})") from exc

    async def _post_order(self, request: web.Request) -> web.Response:
        try:
            doc = await self._body(request)
            if not isinstance(doc, dict):
                raise ValueError("order must be a JSON object")
            uuid = self.place_order(
                doc.get("market", ""),
                doc.get("side", ""),
                doc.get("ord_type", ""),
                doc.get("price"),
                doc.get("volume"),
                doc.get("identifier"),
            )
        except ValueError as exc:
            return _error(400, "invalid_parameter", str(exc))
        except OrderError as exc:
            return _error(exc.status, exc.name, exc.message)
        return json_response({"uuid": uuid}, 201)

    async def _delete_order(self, request: web.Request) -> web.Response:
        uuid = request.match_info["uuid"]
        try:
            self.cancel_order(uuid)
        except OrderError as exc:
            return _error(exc.status, exc.name, exc.message)
        return json_response({"uuid": uuid, "state": "cancel"})

    async def _post_fault(self, request: web.Request) -> web.Response:
        try:
            fault = Fault.from_json(await self._body(request))
        except ValueError as exc:
            return _error(400, "invalid_fault", str(exc))
        hit = self.apply_fault(fault)
        return json_response({"kind": fault.kind, "target": fault.target, "connections": hit})

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return json_response({"cleared": True})

    async def _get_stats(self, request: web.Request) -> web.Response:
        return json_response(self.stats())

    async def _get_account(self, request: web.Request) -> web.Response:
        return json_response(self.account.snapshot())
