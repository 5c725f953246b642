"""API keys for the private endpoint, kept out of every log, repr, exception and recording.

``Credentials.headers()`` mints a fresh token (new uuid4 nonce) on every call; the stream calls
it once per connection attempt, so no token or nonce is ever reused across reconnects
(the ccxt bug, architecture §3).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from typing import Final

from upbitws.exceptions import CredentialsError
from upbitws.protocol.auth import ALGORITHMS, Algorithm, bearer_token
from upbitws.protocol.endpoints import fingerprint
from upbitws.protocol.errors import redact

__all__ = [
    "ENV_ACCESS_KEY",
    "ENV_SECRET_KEY",
    "Credentials",
    "RedactingFilter",
    "install_redaction",
]

ENV_ACCESS_KEY: Final = "UPBIT_OPEN_API_ACCESS_KEY"
ENV_SECRET_KEY: Final = "UPBIT_OPEN_API_SECRET_KEY"


def _mask(access_key: str) -> str:
    return f"{access_key[:4]}…{access_key[-2:]}" if len(access_key) > 8 else "****"


class Credentials:
    """An access key and secret key. ``repr``/``str`` show only a masked access key."""

    __slots__ = ("__secret", "_access_key", "algorithm")

    def __init__(self, access_key: str, secret_key: str, *, algorithm: Algorithm = "HS256") -> None:
        if not isinstance(access_key, str) or not access_key.strip():
            raise CredentialsError("access key is empty: pass the Open API access key")
        if not isinstance(secret_key, str) or not secret_key.strip():
            raise CredentialsError("secret key is empty: pass the Open API secret key")
        if algorithm not in ALGORITHMS:
            raise CredentialsError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        self._access_key = access_key.strip()
        self.__secret = secret_key.strip()
        self.algorithm: Algorithm = algorithm
        install_redaction()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, algorithm: Algorithm = "HS256"
    ) -> Credentials:
        """From ``UPBIT_OPEN_API_ACCESS_KEY`` / ``UPBIT_OPEN_API_SECRET_KEY``."""
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_ACCESS_KEY, ENV_SECRET_KEY) if not env.get(name)]
        if missing:
            raise CredentialsError(
                f"missing credentials: set {' and '.join(missing)} in the environment"
            )
        return cls(env[ENV_ACCESS_KEY], env[ENV_SECRET_KEY], algorithm=algorithm)

    @property
    def masked_access_key(self) -> str:
        return _mask(self._access_key)

    @property
    def fingerprint(self) -> str:
        """A short SHA-256 fingerprint of the access key: keys the per-account connect budget
        (Upbit counts private connects per key, protocol §7) without carrying the key."""
        return fingerprint(self._access_key)

    def token(self) -> str:
        """A fresh signed JWT (new nonce)."""
        return bearer_token(self._access_key, self.__secret, str(uuid.uuid4()), self.algorithm)

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <fresh JWT>"}`` for one upgrade."""
        return {"Authorization": f"Bearer {self.token()}"}

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.masked_access_key!r}, algorithm={self.algorithm!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Credentials cannot be pickled (they would carry the secret)")


class RedactingFilter(logging.Filter):
    """Replaces Bearer tokens and JWTs in a record's message with ``[REDACTED]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a broken record is not ours to fix; let logging report it
            return True
        redacted = redact(text)
        if redacted != text:
            record.msg = redacted
            record.args = None
        return True


#: Loggers of libraries that may print handshake headers at DEBUG.
_LOGGERS: Final = (
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.websocket",
    "aiohttp.server",
    "aiohttp.access",
    "websockets",
    "websockets.client",
    "websocket",
    "urllib3.connectionpool",
    "upbitws",
    "upbitws.connection",
)
_FILTER: Final = RedactingFilter()


def install_redaction() -> None:
    """Attach the redacting filter to every logger that might print the Authorization header
    (idempotent). Called when credentials are created."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
