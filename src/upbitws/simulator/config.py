"""Every simulator knob, with its default and the protocol section it stands for.

Where the protocol text marks a behaviour UNVERIFIED (§14), the default is the likelier one and
the other is selectable:

==================== ================ =========================================================
knob                 default          alternative / why
==================== ================ =========================================================
auth_failure         ``"by_case"``    §14.A: a missing token is accepted, then the first request
                                      gets INVALID_AUTH + close 1000; a token that is present
                                      but bad (signature, unknown key, reused nonce) gets HTTP
                                      401 with a JSON body on the upgrade. ``"frame"``: always
                                      the frame; ``"http"``: always 401 (§6, §8, §14.3).
rate_limit_answer    ``"http"``       ``"frame"``: accept, send ``TOO_MANY_REQUESTS`` and close
                                      1000. Over-limit upgrades get HTTP 429 + Retry-After (§7).
block_after_429s     ``None``         K: after K 429s of one IP / access key within
                                      ``block_window`` s, upgrades get HTTP 418 for a block
                                      that doubles with each repetition (§7, §14.A). Off by
                                      default: the wire form is medium confidence.
message_limit_answer ``"frame"``      ``"ignore"``: drop the message silently. Default: error
                                      frame ``TOO_MANY_REQUESTS`` then close 1000 (§7, §14.2).
idle_timeout         ``60.0``         measured in 2026 (60.5–61.3 s, §5, §14.A); the docs still
                                      say 120 s, which stays reachable as a knob.
camel_case           ``True``         honour legacy ``isOnlySnapshot``/``isOnlyRealtime``
                                      (§3.2, §14.4); snake case wins when both are present.
resnapshot           ``True``         a replacement re-sends SNAPSHOTs for codes that were
                                      already subscribed (§3.5, §14.6).
==================== ================ =========================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from upbitws.protocol.ratelimit import MESSAGE_WINDOWS

__all__ = ["DEFAULT_ACCESS_KEY", "DEFAULT_SECRET_KEY", "SimulatorConfig"]

#: The simulator's own key pair when none is configured (a local test exchange, not secrets).
DEFAULT_ACCESS_KEY = "upbitws-simulator-access-key-0000000000"
#: 64 characters, so PyJWT does not warn when clients sign HS512 with it.
DEFAULT_SECRET_KEY = "upbitws-simulator-secret-key-" + "0" * 35


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    """Configuration of one simulator; see the module docstring for the UNVERIFIED knobs."""

    seed: int = 1
    #: Codes to serve (unknown ones become quiet synthetic markets); else ``market_count``.
    markets: Sequence[str] | None = None
    #: How many catalog markets to serve when ``markets`` is not given (default 12).
    market_count: int | None = None
    #: Multiplies every market's trade rate (KRW-BTC is ~30 trades/s at 1.0).
    trade_rate: float = 1.0
    #: Trades kept per market for REST ``/v1/trades/ticks`` and ``Simulator.trades``.
    history_size: int = 100_000
    #: Seconds with nothing received before an abrupt close (§5: 60 s measured in 2026).
    idle_timeout: float = 60.0
    #: Seconds between ``{"status":"UP"}`` frames after a text ``PING`` (§5).
    status_interval: float = 10.0
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    auth_failure: Literal["by_case", "frame", "http"] = "by_case"
    rate_limit_answer: Literal["http", "frame"] = "http"
    #: 429s of one key within ``block_window`` seconds before it is blocked (418); None: never.
    block_after_429s: int | None = None
    block_window: float = 60.0
    #: The first block's length; each further block of the same key doubles, to ``block_max``.
    block_seconds: float = 10.0
    block_max: float = 3600.0
    #: Send ``Retry-After`` with a 418 (the block time is in the body either way).
    block_retry_after_header: bool = True
    message_limit_answer: Literal["frame", "ignore"] = "frame"
    #: websocket-connect: upgrades per second per IP (or per access key with a JWT); None: off.
    connect_limit: int | None = 5
    #: websocket-message windows per connection: 5/s and 100/min (§7).
    message_limits: tuple[tuple[int, float], ...] = MESSAGE_WINDOWS
    #: Quotation REST requests per second per IP and group (Upbit: 10); None: off.
    rest_rate_limit: int | None = 10
    camel_case: bool = True
    resnapshot: bool = True
    #: Negotiate permessage-deflate when the client offers it (§9).
    compression: bool = True
    #: Largest client frame accepted; a bigger one gets WRONG_FORMAT and close 1000 (§6).
    #: Upbit accepted a 9.5 KB request of 855 codes (§7); 1 MiB leaves a wide margin.
    max_request_bytes: int = 2**20
    #: Seconds between an error frame and the close 1000 (KR host: ~150 ms, §2.6).
    error_close_delay: float = 0.15
    #: Queued frames per connection before it is dropped as a slow consumer.
    max_queue: int = 50_000
    #: Queued bytes per connection (payloads plus a small per-frame overhead) before it is
    #: dropped as a slow consumer (TCP abort, counted in ``slow_consumers``).
    max_queue_bytes: int = 4 * 2**20
    #: Queued bytes over all connections; past it the largest queue is cut. None: no budget.
    send_budget_bytes: int | None = 64 * 2**20
    #: Starting balances of the simulated account (currency -> amount).
    balances: Mapping[str, str | int | float] | None = field(default=None)
    host: str = "127.0.0.1"
    port: int = 0
    #: Serve this recording instead of random markets (simulator/replay.py); None: off.
    replay: str | None = None
    #: Replay pace: 1.0 real time, 10 ten times faster.
    replay_speed: float = 1.0
    #: When set, ``/_sim/*`` requests need ``Authorization: Bearer <control_token>``.
    control_token: str | None = field(default=None, repr=False)
    #: ``Host`` names the control routes accept besides loopback ones (``--allow-remote``).
    control_hosts: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "status_interval", "trade_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if self.error_close_delay < 0:
            raise ValueError("error_close_delay must be >= 0")
        if self.auth_failure not in ("by_case", "frame", "http"):
            raise ValueError("auth_failure must be 'by_case', 'frame' or 'http'")
        if self.block_after_429s is not None and self.block_after_429s < 1:
            raise ValueError("block_after_429s must be >= 1 or None")
        for name in ("block_window", "block_seconds", "block_max"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if self.rate_limit_answer not in ("http", "frame"):
            raise ValueError("rate_limit_answer must be 'http' or 'frame'")
        if self.message_limit_answer not in ("frame", "ignore"):
            raise ValueError("message_limit_answer must be 'frame' or 'ignore'")
        if self.connect_limit is not None and self.connect_limit < 1:
            raise ValueError("connect_limit must be >= 1 or None")
        if self.rest_rate_limit is not None and self.rest_rate_limit < 1:
            raise ValueError("rest_rate_limit must be >= 1 or None")
        if self.max_queue < 1 or self.history_size < 1:
            raise ValueError("max_queue and history_size must be >= 1")
        if self.max_request_bytes < 1024:
            raise ValueError(f"max_request_bytes must be >= 1024, got {self.max_request_bytes}")
        if self.max_queue_bytes < 1024:
            raise ValueError(f"max_queue_bytes must be >= 1024, got {self.max_queue_bytes}")
        if self.send_budget_bytes is not None and self.send_budget_bytes < self.max_queue_bytes:
            raise ValueError("send_budget_bytes must be None or >= max_queue_bytes")
        if not self.secret_key or not self.access_key:
            raise ValueError("access_key and secret_key must not be empty")
