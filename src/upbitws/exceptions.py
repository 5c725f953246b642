"""Every error upbitws raises, in one tree.

::

    UpbitWSError                      name, status_code, close_code, retry_after
    ├── MessageDecodeError            a frame that is not JSON / not an Upbit frame
    ├── ConfigurationError            a bad option, also a ValueError
    │   ├── InvalidURLError           url / private_url not ws:// or wss://; says what to pass
    │   ├── SubscriptionError         a subscription Upbit would reject; says what to fix
    │   ├── MissingExtraError         an optional dependency (extra) is not installed
    │   └── CredentialsError          private types without keys, malformed keys
    ├── ConnectionFailedError         recoverable: the stream retries these
    │   ├── HandshakeError            the upgrade failed (HTTP 408 / 425 / 5xx, reset, bad TLS)
    │   │   ├── RateLimitedError      HTTP 429 / 418: retried after Retry-After (+ jitter, capped)
    │   │   └── HostUnreachableError  DNS, refused, TLS mismatch once the stream had connected
    │   ├── HandshakeTimeoutError     no upgrade within handshake_timeout
    │   ├── ConnectionLostError       closed by the server or the network (close_code)
    │   └── LivenessError             we closed it: no pong / no data in time
    │       ├── PongTimeoutError
    │       └── DataStalledError
    ├── FatalError                    never retried; raised from the stream's iterator
    │   ├── AuthenticationError       INVALID_AUTH, HTTP 401 / 403
    │   ├── RequestRejectedError      Upbit rejected our request (NO_TICKET, WRONG_FORMAT, ...)
    │   ├── TLSCertificateError       certificate verification failed
    │   ├── EndpointError             not a WebSocket endpoint: HTTP 3xx / 4xx / plain 200
    │   └── UnreachableError          DNS, refused, TLS mismatch before the first connection
    ├── RetriesExhaustedError         max_retries reached; ``__cause__`` is the last error
    ├── StreamClosedError             the stream was used after it was closed
    ├── RecordingError                writing a recording failed (the recorder retries)
    └── RecordingFormatError          not a recording, or a format version we cannot read

Every message of a connection failure names the URL it concerns. ``HostUnreachableError``
becomes ``UnreachableError`` (its ``__cause__``) when the stream never connected once and
``retry_initial_connect`` is off: a typo'd host or a wrong port is not retried forever.

Every class carries the structured fields of the base so code can branch on values, not on
message text. Third-party exceptions (aiohttp, OSError, msgspec, PyJWT) are translated at
one boundary per dependency with ``raise ... from``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "CredentialsError",
    "DataStalledError",
    "EndpointError",
    "FatalError",
    "HandshakeError",
    "HandshakeTimeoutError",
    "HostUnreachableError",
    "InvalidURLError",
    "LivenessError",
    "MessageDecodeError",
    "MissingExtraError",
    "PongTimeoutError",
    "RateLimitedError",
    "RecordingError",
    "RecordingFormatError",
    "RequestRejectedError",
    "RetriesExhaustedError",
    "StreamClosedError",
    "SubscriptionError",
    "TLSCertificateError",
    "UnreachableError",
    "UpbitWSError",
]


class UpbitWSError(Exception):
    """Root of every upbitws error.

    ``name`` is Upbit's error name when the server sent one (``"INVALID_AUTH"``),
    ``status_code`` the HTTP status of a failed upgrade, ``close_code`` the WebSocket close
    code, ``retry_after`` the seconds the server asked us to wait.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        status_code: int | None = None,
        close_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.status_code = status_code
        self.close_code = close_code
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class MessageDecodeError(UpbitWSError, ValueError):
    """A frame could not be decoded; ``reason`` says why, ``payload`` is a truncated copy."""

    MAX_PAYLOAD = 200

    def __init__(self, reason: str, payload: bytes | str) -> None:
        raw = payload.encode("utf-8", "replace") if isinstance(payload, str) else payload
        excerpt = raw[: self.MAX_PAYLOAD]
        more = f" ... ({len(raw)} bytes)" if len(raw) > self.MAX_PAYLOAD else ""
        super().__init__(f"cannot decode frame: {reason}; payload: {excerpt!r}{more}")
        self.reason = reason
        self.payload = excerpt


class ConfigurationError(UpbitWSError, ValueError):
    """An option or argument is invalid; raised before anything is sent."""


class InvalidURLError(ConfigurationError):
    """A ``url`` / ``private_url`` that cannot be a WebSocket endpoint (no ``ws://`` or
    ``wss://``, no host); the message suggests the URL that was probably meant."""


class SubscriptionError(ConfigurationError):
    """A subscription Upbit would reject or silently ignore; the message says what to fix."""


class MissingExtraError(ConfigurationError, ImportError):
    """An optional feature needs an extra: ``pip install 'upbitws[EXTRA]'``."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the optional dependencies: pip install 'upbitws[{extra}]'"
        )
        self.extra = extra


class CredentialsError(ConfigurationError):
    """Keys are missing or malformed (the message never contains the secret)."""


class ConnectionFailedError(UpbitWSError):
    """A recoverable connection failure: the stream reconnects with backoff."""


class HandshakeError(ConnectionFailedError):
    """The WebSocket upgrade failed."""


class RateLimitedError(HandshakeError):
    """HTTP 429 (or 418, Upbit's escalated block) on the upgrade; wait ``retry_after``."""


class HostUnreachableError(HandshakeError):
    """The host could not be reached: name not known, connection refused, or a TLS protocol
    mismatch (``wss://`` to a plain port). Retried once the stream had connected; before
    that it ends the stream as :class:`UnreachableError` (unless ``retry_initial_connect``).
    ``name`` is ``"dns"``, ``"refused"`` or ``"tls"``."""


class HandshakeTimeoutError(ConnectionFailedError):
    """The upgrade did not complete within ``handshake_timeout``."""


class ConnectionLostError(ConnectionFailedError):
    """The server or the network closed the connection; ``close_code`` when known."""


class LivenessError(ConnectionFailedError):
    """upbitws closed a connection it judged dead."""


class PongTimeoutError(LivenessError):
    """No pong (or ``{"status":"UP"}``) within ``pong_timeout``."""


class DataStalledError(LivenessError):
    """Pings are answered but a subscribed stream delivered nothing for too long."""


class FatalError(UpbitWSError):
    """Not retried: retrying cannot help; the message says what to do."""


class AuthenticationError(FatalError):
    """Upbit refused our credentials (INVALID_AUTH, HTTP 401 / 403)."""


class RequestRejectedError(FatalError):
    """Upbit answered our subscription request with an error frame."""


class TLSCertificateError(FatalError):
    """The server's TLS certificate could not be verified."""


class EndpointError(FatalError):
    """The URL answered the upgrade with something retrying cannot change: a redirect, a 4xx
    other than 401 / 403 / 408 / 425 / 429, or a plain 200 without an upgrade. The message
    names the URL, the status and, where it helps, the URL that was probably meant."""


class UnreachableError(FatalError):
    """The host was never reachable (name not known, refused, TLS mismatch) and the stream
    never connected; ``__cause__`` is the :class:`HostUnreachableError`. Pass
    ``retry_initial_connect=True`` for a service that starts before its network is up."""


class RetriesExhaustedError(UpbitWSError):
    """``max_retries`` consecutive failed attempts; ``__cause__`` is the last error."""


class StreamClosedError(UpbitWSError):
    """The stream is closed."""


class RecordingError(UpbitWSError):
    """Writing a recording failed (disk full, ...); the recorder keeps what it holds and
    retries, announcing it as a non-fatal ``ErrorOccurred``."""


class RecordingFormatError(UpbitWSError, ValueError):
    """A file is not an upbitws recording, or of a format version this upbitws cannot read."""
