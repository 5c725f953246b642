"""Credentials: masked repr, env loading, fresh tokens, log redaction (no network)."""

from __future__ import annotations

import logging
import pickle
import warnings

import jwt
import pytest

from upbitws import Credentials, CredentialsError
from upbitws.credentials import RedactingFilter, install_redaction

ACCESS = "a7Xd92LmQW3vBtRzYpMj5CxNKeT1HuVs0fFgJcAw"
SECRET = "s3cr3t-Zq8RkF2mVn7pLw4TxY6bHc9JdGs1AeUo"


def test_repr_and_str_show_only_a_masked_access_key() -> None:
    creds = Credentials(ACCESS, SECRET)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text
        assert ACCESS not in text
        assert "a7Xd" in text


def test_credentials_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Credentials(ACCESS, SECRET))


def test_every_token_has_a_fresh_nonce_and_verifies_with_the_secret() -> None:
    creds = Credentials(ACCESS, SECRET)
    nonces = set()
    for _ in range(20):
        claims = jwt.decode(creds.token(), SECRET, algorithms=["HS256"])
        assert claims["access_key"] == ACCESS
        nonces.add(claims["nonce"])
    assert len(nonces) == 20


def test_hs512_is_selectable() -> None:
    token = Credentials(ACCESS, SECRET, algorithm="HS512").token()
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    with warnings.catch_warnings():  # PyJWT finds a 40-byte key short for HS512
        warnings.simplefilter("ignore")
        assert jwt.decode(token, SECRET, algorithms=["HS512"])["access_key"] == ACCESS


def test_headers_carry_a_bearer_token() -> None:
    header = Credentials(ACCESS, SECRET).headers()["Authorization"]
    assert header.startswith("Bearer ey")


def test_from_env_names_what_is_missing_without_printing_values() -> None:
    with pytest.raises(CredentialsError, match="UPBIT_OPEN_API_SECRET_KEY") as info:
        Credentials.from_env({"UPBIT_OPEN_API_ACCESS_KEY": ACCESS})
    assert ACCESS not in str(info.value)
    creds = Credentials.from_env(
        {"UPBIT_OPEN_API_ACCESS_KEY": ACCESS, "UPBIT_OPEN_API_SECRET_KEY": SECRET}
    )
    assert jwt.decode(creds.token(), SECRET, algorithms=["HS256"])["access_key"] == ACCESS


@pytest.mark.parametrize(
    ("access", "secret", "algorithm"),
    [("", SECRET, "HS256"), (ACCESS, "  ", "HS256"), (ACCESS, SECRET, "none")],
)
def test_bad_arguments_are_rejected_without_echoing_the_secret(
    access: str, secret: str, algorithm: str
) -> None:
    with pytest.raises(CredentialsError) as info:
        Credentials(access, secret, algorithm=algorithm)  # type: ignore[arg-type]
    assert SECRET not in str(info.value)


def test_redacting_filter_hides_bearer_tokens_and_jwts(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    token = Credentials(ACCESS, SECRET).token()
    logger = logging.getLogger("aiohttp.client")
    with caplog.at_level(logging.DEBUG, logger="aiohttp.client"):
        logger.debug("headers: %s", {"Authorization": f"Bearer {token}"})
        logger.debug("raw token %s", token)
    assert token not in caplog.text
    assert caplog.text.count("[REDACTED]") == 2
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
