"""A write to a closing transport (a ping, a request) is a dropped connection: the stream
reconnects instead of ending."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

import upbitws
from upbitws import ConnectionLostError, Disconnected, Reconnected

from .conftest import FAST, SimFactory, until

if TYPE_CHECKING:
    import pytest


async def test_a_ping_to_a_closing_transport_reconnects(
    make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = await make_sim()
    real_ping = aiohttp.ClientWebSocketResponse.ping
    failed: list[int] = []

    async def ping(self: aiohttp.ClientWebSocketResponse, message: bytes = b"") -> None:
        if not failed:  # what aiohttp raises when the transport is already closing
            failed.append(1)
            raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")
        await real_ping(self, message)

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "ping", ping)
    async with upbitws.connect([upbitws.ticker("KRW-BTC")], url=sim.ws_url, **FAST) as stream:
        seen = await until(stream, lambda m: isinstance(m, Reconnected))
    assert failed == [1]
    [dropped] = [e for e in seen if isinstance(e, Disconnected)]
    assert isinstance(dropped.cause, ConnectionLostError)
    assert "Cannot write to closing transport" in str(dropped.cause)
