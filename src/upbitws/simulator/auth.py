"""Bearer-JWT verification for the private endpoint (protocol §8, §12.1).

Upbit signs ``{"access_key", "nonce"}`` with the raw secret key bytes. The simulator accepts
HS256, HS384 and HS512, pins the check to the algorithm the header names (so ``alg: none`` and
anything else is refused), requires the configured access key, and refuses a nonce it has
seen before (§8: "nonce ... must be new for every request"). The HMAC is checked here with
``hmac.compare_digest`` rather than PyJWT, so the server never emits PyJWT's short-key warning.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from typing import Any

import msgspec

__all__ = ["ALGORITHMS", "HTTP_401", "AuthFailure", "JWTVerifier"]

#: Accepted ``alg`` values and their digests (§8: HS512 recommended, HS256 used by the SDK).
ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


#: Upbit's REST 401 error names and messages, used for an HTTP 401 on the upgrade.
HTTP_401 = {
    "invalid_access_key": "잘못된 엑세스 키입니다.",
    "jwt_verification": "Jwt 토큰 검증에 실패했습니다.",
    "nonce_used": "이미 요청한 nonce값이 다시 사용되었습니다.",
    "invalid_query_payload": "Jwt 토큰의 payload가 올바르지 않습니다.",
}


class AuthFailure(Exception):
    """Why a token was refused (the reason is for logs and tests; a frame says INVALID_AUTH,
    an HTTP 401 carries ``name``, one of :data:`HTTP_401`)."""

    def __init__(self, reason: str, name: str = "jwt_verification") -> None:
        super().__init__(reason)
        self.name = name


def _b64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AuthFailure("token segment is not base64url") from exc


def _json(segment: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(_b64(segment))
    except msgspec.DecodeError as exc:
        raise AuthFailure("token segment is not JSON") from exc
    if not isinstance(value, dict):
        raise AuthFailure("token segment is not a JSON object")
    return value


class JWTVerifier:
    """Verifies ``Authorization: Bearer <jwt>`` headers against one key pair.

    Seen nonces are remembered (bounded: the oldest ``nonce_memory`` are kept) so a replayed
    token is refused.
    """

    def __init__(self, access_key: str, secret_key: str, *, nonce_memory: int = 100_000) -> None:
        self.access_key = access_key
        self._secret = secret_key.encode()
        self._nonces: OrderedDict[str, None] = OrderedDict()
        self._memory = nonce_memory

    def verify(self, authorization: str | None) -> str:
        """The access key of a valid header; raise :class:`AuthFailure` otherwise."""
        if not authorization:
            raise AuthFailure("no Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthFailure("Authorization is not 'Bearer <token>'")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise AuthFailure("token is not three segments")
        header, payload = _json(parts[0]), _json(parts[1])
        alg = header.get("alg")
        digest = ALGORITHMS.get(alg) if isinstance(alg, str) else None
        if digest is None:
            raise AuthFailure(f"algorithm {alg!r} refused (HS256/HS384/HS512 only)")
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(self._secret, signing_input, digest).digest()
        if not hmac.compare_digest(expected, _b64(parts[2])):
            raise AuthFailure("bad signature")
        if payload.get("access_key") != self.access_key:
            raise AuthFailure("unknown access key", "invalid_access_key")
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise AuthFailure("missing nonce", "invalid_query_payload")
        if nonce in self._nonces:
            raise AuthFailure("nonce already used", "nonce_used")
        self._nonces[nonce] = None
        if len(self._nonces) > self._memory:
            self._nonces.popitem(last=False)
        return self.access_key

    @staticmethod
    def peek_access_key(authorization: str | None) -> str | None:
        """The unverified ``access_key`` claim, to key the connect rate limit (§7)."""
        if not authorization:
            return None
        parts = authorization.strip().partition(" ")[2].split(".")
        if len(parts) != 3:
            return None
        try:
            key = _json(parts[1]).get("access_key")
        except AuthFailure:
            return None
        return key if isinstance(key, str) else None
