"""The aiohttp boundary (architecture §2.6): open a WebSocket and translate every aiohttp / OSError
failure into the upbitws exception tree, once, here.

No ``Origin`` header is ever sent: Upbit limits requests carrying one to 1 per 10 s (§7).
Header values never reach an exception message (the upgrade carries the Bearer token).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping

import aiohttp

from upbitws.exceptions import (
    HandshakeError,
    HandshakeTimeoutError,
    TLSCertificateError,
    UpbitWSError,
)
from upbitws.protocol.errors import error_from_http_status

__all__ = ["open_websocket"]


async def open_websocket(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Mapping[str, str] | None,
    handshake_timeout: float,
    compression: bool,
    max_msg_size: int,
) -> aiohttp.ClientWebSocketResponse:
    """Open ``url``; raise an :class:`UpbitWSError` subclass on any failure."""
    try:
        async with asyncio.timeout(handshake_timeout):
            return await session.ws_connect(
                url,
                headers=dict(headers) if headers else None,
                autoping=False,  # we see pongs ourselves (liveness), and answer pings
                autoclose=True,
                compress=15 if compression else 0,
                max_msg_size=max_msg_size,
                heartbeat=None,
            )
    except TimeoutError as exc:
        raise HandshakeTimeoutError(
            f"no WebSocket upgrade from {url} within {handshake_timeout:g}s"
        ) from exc
    except aiohttp.WSServerHandshakeError as exc:
        raise _handshake_error(url, exc) from exc
    except aiohttp.ClientConnectorCertificateError as exc:
        raise TLSCertificateError(
            f"TLS certificate of {url} could not be verified ({exc.certificate_error}); "
            "check the system clock and CA certificates, or the URL"
        ) from exc
    except aiohttp.ClientSSLError as exc:
        raise HandshakeError(f"TLS handshake with {url} failed: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise HandshakeError(f"cannot connect to {url}: {type(exc).__name__}: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise TLSCertificateError(f"TLS certificate of {url} could not be verified: {exc}") from exc
    except OSError as exc:
        raise HandshakeError(f"cannot connect to {url}: {exc}") from exc


def _handshake_error(url: str, exc: aiohttp.WSServerHandshakeError) -> UpbitWSError:
    headers = dict(exc.headers or {})
    if exc.status in (101, 200):  # upgraded but the handshake itself was invalid
        return HandshakeError(f"invalid WebSocket handshake from {url}: {exc.message}")
    return error_from_http_status(exc.status, headers, exc.message or "", now=time.time())
