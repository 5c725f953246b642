"""The Bearer JWT of the private endpoint (protocol §8), sans-I/O: the nonce is passed in.

Payload ``{"access_key", "nonce"}`` (no ``query_hash``: the upgrade has no query), signed with
the raw secret key (not base64). HS256 by default (what the official SDK sends; Upbit's
40-byte secret is short for HS512 by PyJWT's standards), HS512 selectable (Upbit recommends it).
"""

from __future__ import annotations

import warnings
from typing import Final, Literal

import jwt

__all__ = ["ALGORITHMS", "Algorithm", "bearer_token"]

Algorithm = Literal["HS256", "HS384", "HS512"]
ALGORITHMS: Final[tuple[str, ...]] = ("HS256", "HS384", "HS512")


def bearer_token(access_key: str, secret_key: str, nonce: str, algorithm: Algorithm) -> str:
    """A signed JWT for one connection attempt; ``nonce`` must be fresh (a uuid4)."""
    with warnings.catch_warnings():
        # PyJWT warns when an HMAC key is shorter than the hash; Upbit's keys are what they are.
        warnings.simplefilter("ignore")
        return jwt.encode(
            {"access_key": access_key, "nonce": nonce}, secret_key, algorithm=algorithm
        )
