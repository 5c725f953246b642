"""permessage-deflate when the client offers it, none otherwise (§9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import pytest

from upbitws.protocol.codec import decode

from ._wire import recv, req

if TYPE_CHECKING:
    from .conftest import SimFactory


@pytest.mark.parametrize(
    ("server", "client", "negotiated"),
    [(True, 15, True), (True, 0, False), (False, 15, False)],
    ids=["offered", "not offered", "server knob off"],
)
async def test_compression(
    make_sim: SimFactory, http: aiohttp.ClientSession, server: bool, client: int, negotiated: bool
) -> None:
    sim = await make_sim(compression=server)
    async with http.ws_connect(sim.ws_url, compress=client) as ws:
        extension = ws._response.headers.get("Sec-WebSocket-Extensions", "")
        assert ("permessage-deflate" in extension) == negotiated
        assert bool(ws.compress) == negotiated
        await ws.send_str(req({"type": "orderbook", "codes": ["KRW-BTC"]}))
        for _ in range(3):
            msg = await recv(ws)
            assert msg.type == aiohttp.WSMsgType.BINARY
            assert decode(msg.data)[0].type == "orderbook"
