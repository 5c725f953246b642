"""Every option of a stream, with its default, in one place (README "Options" mirrors it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from upbitws.exceptions import ConfigurationError
from upbitws.protocol.backoff import BackoffPolicy
from upbitws.protocol.endpoints import check_url, derive_endpoints

if TYPE_CHECKING:
    from upbitws.client.budget import ConnectBudget

__all__ = ["REGIONS", "FrameTap", "StreamOptions", "public_url"]

#: Upbit's hosts (protocol §1): Korea and the global sg / id / th exchanges.
REGIONS: Final[dict[str, str]] = {
    "kr": "api.upbit.com",
    "sg": "sg-api.upbit.com",
    "id": "id-api.upbit.com",
    "th": "th-api.upbit.com",
}


def public_url(region: str) -> str:
    """``wss://HOST/websocket/v1`` for a region name."""
    host = REGIONS.get(region)
    if host is None:
        raise ConfigurationError(f"unknown region {region!r}: use one of {', '.join(REGIONS)}")
    return f"wss://{host}/websocket/v1"


class FrameTap(Protocol):
    """Sees what the connections receive and send, raw (``upbitws.recording`` is one)."""

    def opened(self, endpoint: str, url: str) -> int:
        """A connection opened; returns its number for :meth:`frame` / :meth:`request`."""
        ...

    def frame(self, conn: int, data: Any) -> None:
        """A data frame as received (``bytes`` or ``str``), before decoding."""
        ...

    def request(self, conn: int, text: str) -> None:
        """A request about to be sent."""
        ...


def _check_positive(name: str, value: float | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Options of :func:`upbitws.connect` (all keyword arguments there)."""

    #: Public endpoint (ws:// or wss://); default from ``region``. Any URL works (the
    #: simulator's ``ws_url``); one ending in ``/private`` is taken as the private endpoint.
    url: str | None = None
    #: Private endpoint; default: ``url`` + ``/private``.
    private_url: str | None = None
    #: ``kr`` (api.upbit.com), ``sg``, ``id`` or ``th``; used when ``url`` is not given.
    region: str = "kr"
    #: Numbers as exact ``Decimal`` (default) or ``float`` (faster).
    numbers: Literal["decimal", "float"] = "decimal"
    #: Keepalive: ``"ping"`` (WebSocket ping frames) or ``"status"`` (text PING / UP).
    keepalive: Literal["ping", "status"] = "ping"
    ping_interval: float = 10.0
    pong_timeout: float = 30.0
    #: Silence of public streams that triggers a probe (resend) then a reconnect; None: off.
    data_timeout: float | None = 60.0
    probe_timeout: float = 10.0
    handshake_timeout: float = 30.0
    #: permessage-deflate (RFC 7692), offered on the upgrade.
    compression: bool = True
    max_msg_size: int = 4 * 1024 * 1024
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    #: Consecutive failed attempts before the stream ends (None: retry forever).
    max_retries: int | None = None
    #: Bound of the trade / private queue between socket and consumer.
    queue_size: int = 10_000
    #: Conflate ticker / orderbook / candle to the latest per code while the consumer lags.
    conflate: bool = True
    #: Yield lifecycle events from the iterator as well as to callbacks.
    include_events: bool = False
    #: Log a one-line statistics summary at INFO every this many seconds (None: never).
    stats_interval: float | None = None
    #: Seconds to wait for the close handshake when closing (a dead connection is aborted).
    close_timeout: float = 2.0
    #: Retry "name not known", "connection refused" and TLS mismatches before the first
    #: successful connection (for a service that starts before its network is up); by
    #: default they end the stream with ``UnreachableError`` (after one success: retried).
    retry_initial_connect: bool = False
    #: Connect limiter shared by streams (5 upgrades/s per host / account, protocol §7);
    #: default: one per process (``upbitws.client.budget.default_budget()``).
    connect_budget: ConnectBudget | None = None
    #: Fill trade gaps (after a reconnect or a queue overflow) from REST (trade backfill).
    backfill: bool = True
    #: Quotation REST origin for backfill; default: derived from ``url`` (wss→https).
    rest_url: str | None = None
    #: REST pages (500 trades each) one backfill round may read before giving up.
    backfill_max_pages: int = 20
    #: Live trades held per code while its gap is being filled; more extend the gap.
    backfill_hold: int = 2_000
    #: Check codes and orderbook levels against the exchange's REST lists on connect and on
    #: subscribe (an unknown one raises SubscriptionError; REST unreachable: a WARNING).
    check_markets: bool = True
    #: Raw frames and requests go to this tap too (recording); None: off, costs one check.
    tap: FrameTap | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("ping_interval", "pong_timeout", "probe_timeout", "handshake_timeout"):
            _check_positive(name, getattr(self, name))
        _check_positive("close_timeout", self.close_timeout)
        _check_positive("data_timeout", self.data_timeout, optional=True)
        _check_positive("stats_interval", self.stats_interval, optional=True)
        if self.numbers not in ("decimal", "float"):
            raise ConfigurationError(f"numbers must be 'decimal' or 'float', not {self.numbers!r}")
        if self.keepalive not in ("ping", "status"):
            raise ConfigurationError(
                f"keepalive must be 'ping' or 'status', not {self.keepalive!r}"
            )
        if self.max_retries is not None and self.max_retries < 0:
            raise ConfigurationError("max_retries must be None (forever) or >= 0")
        if self.queue_size < 1:
            raise ConfigurationError("queue_size must be at least 1")
        if self.backfill_max_pages < 1 or self.backfill_hold < 1:
            raise ConfigurationError("backfill_max_pages and backfill_hold must be at least 1")
        if self.max_msg_size < 1024:
            raise ConfigurationError("max_msg_size must be at least 1024 bytes")
        if self.url is None:
            public_url(self.region)  # validates the region
        else:
            check_url(self.url, "url")
        if self.private_url is not None:
            check_url(self.private_url, "private_url")

    @property
    def public_endpoint(self) -> str:
        return derive_endpoints(self.url or public_url(self.region), self.private_url)[0]

    @property
    def private_endpoint(self) -> str:
        """``private_url``, else the public endpoint + ``/private`` (never ``/private/private``)."""
        return derive_endpoints(self.url or public_url(self.region), self.private_url)[1]
