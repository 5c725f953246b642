"""The aiohttp boundary (architecture §2.6): open a WebSocket and translate every aiohttp / OSError
failure into the upbitws exception tree, once, here.

No ``Origin`` header is ever sent: Upbit limits requests carrying one to 1 per 10 s (§7).

The upgrade carries the Bearer token, so nothing that held it may travel with an error:

* header values never reach an exception message;
* the headers are minted inside the call (``headers`` is a factory), so no frame of ours
  holds them as a local a show-locals traceback would print;
* the chained aiohttp exception is scrubbed: its ``request_info`` loses the request
  headers, ``history`` and response headers are dropped, and the tracebacks of the whole
  chain (aiohttp's frames hold the headers as locals) are cut.

The first bytes of a failed upgrade's body are read (a trace hook installed by
:func:`trace_config`) for Upbit's error text and a 418's block time (protocol §7).
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from upbitws.exceptions import (
    EndpointError,
    HandshakeError,
    HandshakeTimeoutError,
    HostUnreachableError,
    TLSCertificateError,
    UpbitWSError,
)
from upbitws.protocol.endpoints import path_hint
from upbitws.protocol.errors import error_from_http_status, redact

if TYPE_CHECKING:
    from types import SimpleNamespace

__all__ = ["abort", "open_websocket", "trace_config"]

#: Bytes of a failed upgrade's body kept for the error (Upbit's JSON error is ~100 bytes).
BODY_LIMIT: Final = 4096
_BODY_WAIT: Final = 1.0
_body: contextvars.ContextVar[list[bytes] | None] = contextvars.ContextVar(
    "upbitws_upgrade_body", default=None
)


def trace_config() -> aiohttp.TraceConfig:
    """A trace config that keeps the first bytes of a failed upgrade's body (see
    :func:`open_websocket`); the stream installs it on its session."""
    config = aiohttp.TraceConfig()
    config.on_request_end.append(_keep_body)
    return config


async def _keep_body(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestEndParams,
) -> None:
    holder = _body.get()
    response = params.response
    if holder is None or response.status == 101:
        return
    data = b""
    try:
        async with asyncio.timeout(_BODY_WAIT):
            while len(data) < BODY_LIMIT:
                chunk = await response.content.read(BODY_LIMIT - len(data))
                if not chunk:
                    break
                data += chunk
    except (TimeoutError, aiohttp.ClientError, OSError):
        pass  # what arrived is enough; the status alone classifies the failure
    holder.append(data)


async def open_websocket(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Callable[[], Mapping[str, str]] | None,
    handshake_timeout: float,
    compression: bool,
    max_msg_size: int,
    private: bool = False,
) -> aiohttp.ClientWebSocketResponse:
    """Open ``url``; raise an :class:`UpbitWSError` subclass on any failure.

    ``headers`` is called once, inside, for a fresh token (never held by this frame).
    """
    result = await _attempt(
        session, url, headers, handshake_timeout, compression, max_msg_size, private
    )
    if isinstance(result, UpbitWSError):
        raise result  # raised here, outside the except block: no implicit context
    return result


async def _attempt(
    session: aiohttp.ClientSession,
    url: str,
    headers: Callable[[], Mapping[str, str]] | None,
    handshake_timeout: float,
    compression: bool,
    max_msg_size: int,
    private: bool,
) -> aiohttp.ClientWebSocketResponse | UpbitWSError:
    holder: list[bytes] = []
    token = _body.set(holder)
    try:
        async with asyncio.timeout(handshake_timeout):
            return await session.ws_connect(
                url,
                headers=dict(headers()) if headers else None,
                autoping=False,  # we see pongs ourselves (liveness), and answer pings
                autoclose=True,
                compress=15 if compression else 0,
                max_msg_size=max_msg_size,
                heartbeat=None,
            )
    except TimeoutError as exc:
        error: UpbitWSError = HandshakeTimeoutError(
            f"no WebSocket upgrade from {url} within {handshake_timeout:g}s"
        )
        return _chain(error, exc)
    except aiohttp.WSServerHandshakeError as exc:
        body = holder[0] if holder else b""
        return _chain(_handshake_error(url, exc, body, private), exc)
    except aiohttp.TooManyRedirects as exc:
        error = EndpointError(
            f"WebSocket upgrade to {url} was redirected too many times (HTTP {_last(exc)}): "
            "not an Upbit "
            f"WebSocket endpoint, retrying cannot help; {path_hint(url, private=private)}"
        )
        return _chain(error, exc)
    except aiohttp.ClientConnectorCertificateError as exc:
        error = TLSCertificateError(
            f"TLS certificate of {url} could not be verified ({exc.certificate_error}); "
            "check the system clock and CA certificates, or the URL"
        )
        return _chain(error, exc)
    except aiohttp.ClientSSLError as exc:
        return _chain(_tls_mismatch(url, exc), exc)
    except aiohttp.ClientConnectorError as exc:
        return _chain(_connect_error(url, exc.os_error, exc), exc)
    except aiohttp.ClientError as exc:
        error = HandshakeError(f"cannot connect to {url}: {type(exc).__name__}: {_text(exc)}")
        return _chain(error, exc)
    except ssl.SSLCertVerificationError as exc:
        error = TLSCertificateError(f"TLS certificate of {url} could not be verified: {exc}")
        return _chain(error, exc)
    except ssl.SSLError as exc:
        return _chain(_tls_mismatch(url, exc), exc)
    except OSError as exc:
        return _chain(_connect_error(url, exc, exc), exc)
    finally:
        _body.reset(token)


def _last(exc: aiohttp.ClientResponseError) -> int:
    """The status of the last redirect (``TooManyRedirects`` itself carries 0)."""
    return exc.history[-1].status if exc.history else exc.status


def _text(exc: BaseException) -> str:
    return redact(str(exc))[:300]


def _tls_mismatch(url: str, exc: BaseException) -> HostUnreachableError:
    plain = " (is it a plain ws:// port?)" if url.startswith("wss://") else ""
    return HostUnreachableError(f"TLS handshake with {url} failed{plain}: {_text(exc)}", name="tls")


def _connect_error(url: str, os_error: BaseException, exc: BaseException) -> HandshakeError:
    if isinstance(os_error, socket.gaierror):
        return HostUnreachableError(
            f"cannot resolve the host of {url} ({_text(os_error)}): check the host name",
            name="dns",
        )
    refused = isinstance(os_error, ConnectionRefusedError) or (
        isinstance(os_error, OSError)
        and (os_error.errno == errno.ECONNREFUSED or "refused" in str(os_error).lower())
    )
    if refused:
        return HostUnreachableError(
            f"connection to {url} refused: nothing listens on that host and port",
            name="refused",
        )
    return HandshakeError(f"cannot connect to {url}: {type(exc).__name__}: {_text(exc)}")


def _handshake_error(
    url: str, exc: aiohttp.WSServerHandshakeError, body: bytes, private: bool
) -> UpbitWSError:
    headers = dict(exc.headers or {})
    status = exc.status
    hint = path_hint(url, private=private) if 400 <= status < 500 else ""
    # aiohttp's words, not the server's: only useful when the 101 itself was malformed.
    reason = exc.message if status == 101 else ""
    return error_from_http_status(
        status, headers, reason, now=time.time(), url=url, body=body, hint=hint
    )


def _chain(error: UpbitWSError, cause: BaseException) -> UpbitWSError:
    """``error`` with ``cause`` scrubbed of everything that may hold the token."""
    error.__cause__ = _scrub(cause)
    error.__suppress_context__ = True
    return error


def _scrub(exc: BaseException) -> BaseException:
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None  # aiohttp's frames hold the request headers as locals
        if isinstance(current, aiohttp.ClientResponseError):
            info = current.request_info
            current.request_info = aiohttp.RequestInfo(
                info.url, info.method, CIMultiDictProxy(CIMultiDict()), info.real_url
            )
            current.history = ()
            current.headers = None
            current.args = (current.request_info, ())
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return exc


def abort(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Drop the connection at once, without a close handshake: for a connection liveness
    declared dead, where waiting ``close_timeout`` for a reply that cannot come only delays
    the reconnect."""
    response = getattr(ws, "_response", None)
    connection = getattr(response, "connection", None)
    transport = getattr(connection, "transport", None)
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    elif response is not None:
        response.close()
