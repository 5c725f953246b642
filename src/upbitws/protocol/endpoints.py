"""WebSocket endpoint URLs: validation with a useful hint, private-endpoint derivation, and the
connect-budget key (protocol §1, §7).

A wrong URL is the most common first mistake (pasting the simulator's ``http://`` origin, or
the private URL as ``url``); it must fail at once with one line that says what to pass, never
turn into an endless reconnect loop. Sans-I/O: strings in, strings or
:class:`~upbitws.exceptions.InvalidURLError` out.
"""

from __future__ import annotations

import hashlib
from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

from upbitws.exceptions import InvalidURLError

__all__ = [
    "PRIVATE_SUFFIX",
    "PUBLIC_PATH",
    "budget_key",
    "check_url",
    "derive_endpoints",
    "fingerprint",
    "path_hint",
    "suggest_url",
]

#: Upbit's public path; the private endpoint is this + ``/private`` (protocol §1).
PUBLIC_PATH: Final = "/websocket/v1"
PRIVATE_SUFFIX: Final = "/private"
_WS_SCHEMES: Final = ("ws", "wss")
_PRIVATE_HINT: Final = (
    "url is the public endpoint; the private one is derived from it (url + /private), "
    "or pass private_url="
)


def _split(url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    if "://" not in url:  # "127.0.0.1:8765" or "localhost:8765/x": a host without a scheme
        parts = urlsplit("//" + url.strip())
        parts = parts._replace(scheme="")
    return parts


def suggest_url(url: str, *, private: bool = False) -> str:
    """The ws:// / wss:// URL that ``url`` most likely meant."""
    parts = _split(url)
    scheme = "wss" if parts.scheme.lower() in ("https", "wss") else "ws"
    path = parts.path.rstrip("/")
    if PUBLIC_PATH not in path:
        path = PUBLIC_PATH
    base = path.split(PUBLIC_PATH, 1)[0] + PUBLIC_PATH
    path = base + PRIVATE_SUFFIX if private else base
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def check_url(url: object, option: str = "url") -> str:
    """Return ``url`` if it can be a WebSocket endpoint; else raise :class:`InvalidURLError`
    naming the option, the value and the URL that was probably meant."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError(f"{option} must be a ws:// or wss:// URL, got {url!r}")
    parts = _split(url)
    scheme = parts.scheme.lower()
    private = option == "private_url"
    try:
        parts.port  # noqa: B018 - raises ValueError on "host:abc"
    except ValueError:
        raise InvalidURLError(f"{option} {url!r} has an invalid port") from None
    if scheme in _WS_SCHEMES and parts.hostname:
        return url.strip()
    if scheme in ("http", "https"):
        what = f"is an {scheme.upper()} URL; WebSocket endpoints start with ws:// or wss://"
    elif scheme in _WS_SCHEMES:
        what = "has no host"
    else:
        what = "has no ws:// or wss:// scheme"
    hint = suggest_url(url, private=private) if parts.hostname else None
    did_you_mean = f": did you mean {hint}?" if hint else ""
    raise InvalidURLError(f"{option} {url!r} {what}{did_you_mean}")


def _with_path(parts: SplitResult, path: str) -> str:
    return urlunsplit(parts._replace(path=path))


def derive_endpoints(url: str, private_url: str | None) -> tuple[str, str]:
    """``(public, private)`` endpoint URLs from the options.

    The private endpoint is ``url`` + ``/private`` (protocol §1) unless ``private_url`` is
    given. A ``url`` that already ends in ``/private`` is taken as the private endpoint and
    the public one is ``url`` without it: ``/private/private`` is never produced.
    """
    parts = _split(url)
    path = parts.path.rstrip("/")
    if path.endswith(PRIVATE_SUFFIX):
        public = _with_path(parts, path[: -len(PRIVATE_SUFFIX)])
        private = _with_path(parts, path)
    else:
        public = url.strip()
        private = _with_path(parts, path + PRIVATE_SUFFIX)
    return public, (private_url.strip() if private_url else private)


def path_hint(url: str, *, private: bool) -> str:
    """A hint for a 404 / 400 on the upgrade: which URL was probably meant, or ''."""
    path = _split(url).path.rstrip("/")
    if path.endswith(PRIVATE_SUFFIX + PRIVATE_SUFFIX):
        return _PRIVATE_HINT
    expected = PUBLIC_PATH + PRIVATE_SUFFIX if private else PUBLIC_PATH
    if path.endswith(expected):
        return ""
    return f"did you mean {suggest_url(url, private=private)}?"


def budget_key(url: str, account: str | None = None) -> str:
    """The connect-budget key of an upgrade to ``url``: the host (``host:port`` when a port is
    given), plus the account fingerprint for private connections (Upbit counts private
    connects per access key, protocol §7)."""
    parts = _split(url)
    host = (parts.hostname or "").lower()
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{host}#{account}" if account else host


def fingerprint(access_key: str) -> str:
    """A short, non-secret, stable fingerprint of an access key (SHA-256 prefix)."""
    return hashlib.sha256(access_key.encode()).hexdigest()[:12]
