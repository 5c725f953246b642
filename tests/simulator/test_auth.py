"""The private endpoint: Bearer JWT on the upgrade (§8, §12.1), accepted and refused."""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING

import aiohttp
import jwt
import pytest

from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Simulator

from ._wire import collect, expect_error, recv_json, req, token

if TYPE_CHECKING:
    from .conftest import SimFactory

MY = [{"type": "myOrder"}, {"type": "myAsset"}]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(
        json.dumps({"access_key": DEFAULT_ACCESS_KEY, "nonce": str(uuid.uuid4())}).encode()
    )
    return f"{header}.{payload}."


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_jwt_accepted(sim: Simulator, http: aiohttp.ClientSession, alg: str) -> None:
    headers = bearer(token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, alg=alg))
    async with http.ws_connect(sim.private_ws_url, headers=headers) as ws:
        await ws.send_str(req(*MY))
        await ws.send_str(json.dumps([{"ticket": "unique uuid"}, {"method": "LIST_SUBSCRIPTIONS"}]))
        reply = await recv_json(ws)
    assert reply == {
        "method": "LIST_SUBSCRIPTIONS",
        "result": [{"type": "myOrder"}, {"type": "myAsset"}],
        "ticket": "unique uuid",
    }


def _bad_tokens() -> dict[str, str | None]:
    return {
        "bad signature": token(DEFAULT_ACCESS_KEY, "x" * 64),
        "alg none": unsigned_token(),
        "unknown access key": token("someone-else", DEFAULT_SECRET_KEY),
        "no nonce": jwt.encode({"access_key": DEFAULT_ACCESS_KEY}, DEFAULT_SECRET_KEY, "HS512"),
        "garbage": "not-a-jwt",
        "no header": None,
    }


BAD = _bad_tokens()


@pytest.mark.parametrize("case", list(BAD))
async def test_jwt_refused_with_invalid_auth_frame(
    make_sim: SimFactory, http: aiohttp.ClientSession, case: str
) -> None:
    """auth_failure="frame" (§14.3): upgrade accepted, first request -> INVALID_AUTH, close 1000."""
    sim = await make_sim(auth_failure="frame")
    value = BAD[case]
    headers = bearer(value) if value is not None else None
    async with http.ws_connect(sim.private_ws_url, headers=headers) as ws:
        await ws.send_str(req(*MY))
        await expect_error(ws, "INVALID_AUTH", "인증 정보가 올바르지 않습니다.")


@pytest.mark.parametrize("case", list(BAD))
async def test_jwt_refused_with_http_401(
    make_sim: SimFactory, http: aiohttp.ClientSession, case: str
) -> None:
    sim = await make_sim(auth_failure="http")
    value = BAD[case]
    headers = bearer(value) if value is not None else None
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        async with http.ws_connect(sim.private_ws_url, headers=headers):
            pass
    assert info.value.status == 401


async def test_reused_nonce_refused(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(auth_failure="http")
    same = token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, nonce="fixed-nonce")
    async with http.ws_connect(sim.private_ws_url, headers=bearer(same)) as ws:
        assert not ws.closed
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        async with http.ws_connect(sim.private_ws_url, headers=bearer(same)):
            pass
    assert info.value.status == 401


async def test_configured_keys(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    secret = "s" * 64
    sim = await make_sim(access_key="my-access", secret_key=secret, auth_failure="http")
    good = bearer(token("my-access", secret))
    async with http.ws_connect(sim.private_ws_url, headers=good) as ws:
        assert not ws.closed
    with pytest.raises(aiohttp.WSServerHandshakeError):
        async with http.ws_connect(
            sim.private_ws_url, headers=bearer(token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
        ):
            pass


async def test_my_asset_with_codes_is_wrong_format(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    headers = bearer(token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
    async with http.ws_connect(sim.private_ws_url, headers=headers) as ws:
        await ws.send_str(req({"type": "myAsset", "codes": ["KRW-BTC"]}))
        await expect_error(ws, "WRONG_FORMAT")


async def test_quotation_types_on_the_private_endpoint(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    headers = bearer(token(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY))
    async with http.ws_connect(sim.private_ws_url, headers=headers) as ws:
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-BTC"]}, *MY))
        frames = await collect(ws, 0.2)
    assert frames
    assert all("error" not in f for f in frames)


@pytest.mark.parametrize("case", list(BAD))
async def test_by_default_a_missing_token_gets_the_frame_and_a_bad_one_http_401(
    sim: Simulator, http: aiohttp.ClientSession, case: str
) -> None:
    """Default auth_failure="by_case" (§14.A): no token -> accepted, INVALID_AUTH + close 1000;
    a token that is there but bad -> HTTP 401 with a JSON body (Upbit's REST 401 names)."""
    value = BAD[case]
    if value is None:
        async with http.ws_connect(sim.private_ws_url) as ws:
            await ws.send_str(req(*MY))
            await expect_error(ws, "INVALID_AUTH", "인증 정보가 올바르지 않습니다.")
        return
    async with http.get(sim.private_ws_url.replace("ws://", "http://"), headers={
        **bearer(value), "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }) as reply:  # fmt: skip
        assert reply.status == 401
        assert reply.content_type == "application/json"
        body = await reply.json()
    expected = "invalid_access_key" if case == "unknown access key" else None
    assert set(body["error"]) == {"name", "message"}
    assert body["error"]["name"] in {"jwt_verification", "invalid_access_key",
                                     "invalid_query_payload"}  # fmt: skip
    if expected is not None:
        assert body["error"]["name"] == expected
    assert body["error"]["message"]
