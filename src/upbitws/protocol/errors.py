"""Error classification: server answers -> the upbitws exception tree (architecture §2.3, §2.6, §3).

Three sources of failure, one mapping each:

* an Upbit error frame ``{"error":{"name":…,"message":…}}`` (protocol §6), after which
  the server closes with 1000 -> :func:`error_from_frame`;
* a failed HTTP upgrade (protocol §7: 429 / 418 for rate limits, 401 / 403 for auth)
  -> :func:`error_from_http_status`;
* a close without an error frame (protocol §5: the idle timeout closes with 1006)
  -> :func:`error_from_close`.

The stream then asks :func:`is_fatal` (stop, raise to the user) or retries after at
least :func:`retry_after` seconds. Fatal means retrying cannot help: bad credentials or a
request Upbit rejects (architecture §3: "server error frames ignored, the caller hangs").

Header values other than ``Retry-After`` and ``Location`` never reach a message, and every
piece of server-controlled text (reason phrase, error body, error frame, close reason) goes
through :func:`redact`: a server may echo the Bearer token it was sent.

What retrying cannot fix is fatal (:class:`~upbitws.exceptions.EndpointError`): a redirect,
a 4xx other than 401 / 403 (authentication), 408 / 425 (try again) and 429 (rate limit), or
a plain 200 without an upgrade. 5xx, 408 and 425 stay retryable.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Mapping

from upbitws.exceptions import (
    AuthenticationError,
    ConnectionFailedError,
    ConnectionLostError,
    EndpointError,
    HandshakeError,
    RateLimitedError,
    RequestRejectedError,
    UpbitWSError,
)

__all__ = [
    "DEFAULT_RETRY_AFTER_418",
    "DEFAULT_RETRY_AFTER_429",
    "REQUEST_ERROR_NAMES",
    "RETRYABLE_STATUSES",
    "block_seconds",
    "error_from_close",
    "error_from_frame",
    "error_from_http_status",
    "is_fatal",
    "parse_retry_after",
    "redact",
    "retry_after",
]

#: Seconds to wait after a 429 without ``Retry-After`` (limits are per second, §7).
DEFAULT_RETRY_AFTER_429 = 1.0
#: Seconds to wait after a 418 without ``Retry-After``: a block that grows with
#: repetition (§7), so back off hard.
DEFAULT_RETRY_AFTER_418 = 60.0

#: Error names meaning the request we sent was malformed (protocol §6).
REQUEST_ERROR_NAMES = frozenset(
    {"NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM", "WRONG_FORMAT"}
)

# Server-controlled text is kept, but bounded.
_MAX_TEXT = 300

#: Upgrade answers worth retrying besides 429 / 418 and 5xx: 408 Request Timeout and
#: 425 Too Early say "the same request may work later" (RFC 9110 §15.5.9, RFC 8470 §5.2).
RETRYABLE_STATUSES = frozenset({408, 425})

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: "blocked for 120 seconds", "120s", "120 sec", "120초" (protocol §7: 418 block time).
_BLOCK_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*(?:seconds?|secs?|s|초)(?![A-Za-z])", re.IGNORECASE)
_BLOCK_FIELDS = ("retry_after", "block", "block_seconds")


def redact(text: str) -> str:
    """``text`` with Bearer tokens and JWTs replaced by ``[REDACTED]``."""
    lowered = text.lower()
    if "eyj" not in lowered and "bearer" not in lowered:
        return text
    return _JWT.sub("[REDACTED]", _BEARER.sub(r"\1[REDACTED]", text))


_AUTH_CAUSES = (
    "Likely causes: the access key and secret key are not a matching pair (or the key was "
    "revoked); this machine's IP address is not on the key's IP allow-list; the key lacks "
    "the permission a requested type needs (주문조회 / order inquiry for myOrder, "
    "자산조회 / asset inquiry for myAsset); or a private type was requested on the public "
    "endpoint (use /websocket/v1/private)."
)


def _clip(text: str) -> str:
    text = redact(text.strip())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _rate_limit_kind(name: str) -> int | None:
    """429 or 418 for Upbit's rate-limit error names, else None."""
    key = name.strip().lower().replace("\u2019", "'").replace("_", " ")
    if key in ("too many requests", "429"):
        return 429
    if key in ("i'm a teapot", "im a teapot", "418"):
        return 418
    return None


def error_from_frame(name: str, message: str) -> UpbitWSError:
    """Map an Upbit error frame (protocol §6) to an exception; Upbit's message is kept
    (redacted and clipped)."""
    said = _clip(message)
    name = _clip(name)
    if name == "INVALID_AUTH":
        return AuthenticationError(
            f"Upbit rejected the authentication (INVALID_AUTH: {said!r}). {_AUTH_CAUSES}",
            name=name,
        )
    if name in REQUEST_ERROR_NAMES:
        return RequestRejectedError(
            f"Upbit rejected the subscription request ({name}: {said!r}). This is a bug in "
            "the request upbitws built, which should have been refused before sending; "
            "please report it with the subscription that caused it.",
            name=name,
        )
    kind = _rate_limit_kind(name)
    if kind is not None:
        wait = DEFAULT_RETRY_AFTER_429 if kind == 429 else DEFAULT_RETRY_AFTER_418
        return RateLimitedError(
            f"Upbit rate-limited this client ({_clip(name)}: {said!r}); "
            f"retrying after at least {wait:g} s",
            name=name,
            retry_after=wait,
        )
    return RequestRejectedError(
        f"Upbit sent an unknown error frame ({_clip(name)}: {said!r}); the request was rejected",
        name=name,
    )


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delay-seconds or HTTP-date, RFC 9110 §10.2.3).

    ``now`` is the wall-clock epoch time, needed only for the HTTP-date form. Returns
    None when the value cannot be used.
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    if now is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        return None
    return max(0.0, when.timestamp() - now)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, found in headers.items():  # plain dicts are case-sensitive
        if key.lower() == lower:
            return found
    return None


def block_seconds(body: bytes | str) -> float | None:
    """The block time an error body announces (protocol §7: after repeated 429s Upbit answers
    418 and puts the block time in the body), or None.

    A numeric ``retry_after`` / ``block`` / ``block_seconds`` field (in ``error`` or at the
    top level) wins; else the first number followed by s / sec / seconds / 초 in
    ``error.message``.
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    error = doc.get("error")
    containers = [error, doc] if isinstance(error, dict) else [doc]
    for container in containers:
        for key in _BLOCK_FIELDS:
            value = container.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if math.isfinite(value) and value >= 0:
                return float(value)
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str):
        found = _BLOCK_TIME.search(message[:_MAX_TEXT])
        if found:
            seconds = float(found.group(1))
            return seconds if math.isfinite(seconds) else None
    return None


def _body_text(body: bytes | str) -> str:
    """Upbit's ``{"error":{"name","message"}}`` as ``name: message``, else the raw text."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        error = doc["error"]
        parts = [str(error.get(key)) for key in ("name", "message") if error.get(key)]
        return _clip(": ".join(parts))
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return _clip(" ".join(text.split()))


def error_from_http_status(
    status: int,
    headers: Mapping[str, str],
    reason: str = "",
    now: float | None = None,
    *,
    url: str | None = None,
    body: bytes | str = b"",
    hint: str = "",
) -> UpbitWSError:
    """Map a failed WebSocket upgrade's HTTP status to an exception.

    ``now`` is the wall-clock epoch time (``time.time()``), used only to turn an HTTP-date
    ``Retry-After`` into seconds. Only ``Retry-After`` and ``Location`` are read from
    ``headers``. ``url`` is named in the message; ``body`` (the first bytes of the answer)
    supplies Upbit's error text and a 418's block time; ``hint`` is appended to a fatal
    answer's message ("did you mean …?").
    """
    phrase = f" {_clip(reason)}" if reason.strip() else ""
    where = f" to {url}" if url else ""
    said = _body_text(body) if body else ""
    server = f"; the server said {said!r}" if said else ""
    if status in (429, 418):
        raw = _header(headers, "Retry-After")
        parsed = None if raw is None else parse_retry_after(raw, now)
        blocked = block_seconds(body) if body else None
        if blocked is not None and (parsed is None or blocked > parsed):
            parsed = blocked  # the body's block time is the server's real answer (§7)
        if parsed is None:
            parsed = DEFAULT_RETRY_AFTER_429 if status == 429 else DEFAULT_RETRY_AFTER_418
        what = "rate limit exceeded" if status == 429 else "temporarily blocked after repeated 429s"
        return RateLimitedError(
            f"WebSocket upgrade{where} refused with HTTP {status}{phrase} ({what}, protocol §7)"
            f"{server}; retrying after at least {parsed:g} s",
            status_code=status,
            retry_after=parsed,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"WebSocket upgrade{where} refused with HTTP {status}{phrase}{server}. {_AUTH_CAUSES}",
            status_code=status,
        )
    if (300 <= status < 500 and status not in RETRYABLE_STATUSES) or status in (101, 200):
        if 300 <= status < 400:
            location = _header(headers, "Location")
            moved = f" to {_clip(location)!r}" if location else ""
            what = f"was redirected{moved} (HTTP {status}{phrase}); pass the final ws:// URL"
        elif status in (101, 200):
            what = f"answered HTTP {status}{phrase} without a valid WebSocket upgrade"
        else:
            what = f"was refused with HTTP {status}{phrase}"
        tip = f"; {hint}" if hint else ""
        return EndpointError(
            f"WebSocket upgrade{where} {what}{server}: not an Upbit WebSocket endpoint, "
            f"retrying cannot help{tip}",
            status_code=status,
        )
    return HandshakeError(
        f"WebSocket upgrade{where} failed with HTTP {status}{phrase}{server}",
        status_code=status,
    )


_CLOSE_MEANINGS = {
    1000: "normal closure (Upbit closes with 1000 right after an error frame, protocol §6)",
    1001: "the server is going away",
    1006: "abnormal closure, no close frame (Upbit's idle timeout closes this way, protocol §5)",
    1011: "internal server error",
    1012: "the server is restarting",
    1013: "try again later",
}


def error_from_close(code: int | None, reason: str = "") -> ConnectionLostError:
    """A connection that ended without an error frame; always retried."""
    said = f": {_clip(reason)!r}" if reason.strip() else ""
    if code is None:
        return ConnectionLostError(f"connection lost (no close code){said}")
    meaning = _CLOSE_MEANINGS.get(code)
    detail = f", {meaning}" if meaning else ""
    return ConnectionLostError(f"connection closed with code {code}{detail}{said}", close_code=code)


def is_fatal(exc: BaseException) -> bool:
    """True unless ``exc`` is a recoverable connection failure the stream should retry.

    (A :class:`~upbitws.exceptions.HostUnreachableError` before the first connection is made
    fatal by the connection itself, which knows whether it ever connected.)

    Only :class:`~upbitws.exceptions.ConnectionFailedError` (handshake, rate limit,
    drop, liveness) is retried; authentication and request errors, certificate failures,
    configuration errors and anything unexpected are not.
    """
    return not isinstance(exc, ConnectionFailedError)


def retry_after(exc: BaseException) -> float | None:
    """The minimum wait the server asked for (429 / 418), else None."""
    return exc.retry_after if isinstance(exc, UpbitWSError) else None
