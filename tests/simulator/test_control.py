"""The /_sim control routes are for the developer, not for a web page or the network.

A page open in the developer's browser can send requests to 127.0.0.1; the control routes
refuse a non-loopback ``Host`` (DNS rebinding) or ``Origin`` (403), a POST that is not
``application/json`` (415), and with a control token, a request without it (401).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from upbitws.simulator.server import is_loopback

if TYPE_CHECKING:
    import aiohttp

    from simfactory import SimFactory
    from upbitws.simulator import Simulator

ORDER = {"market": "KRW-BTC", "side": "bid", "ord_type": "limit", "price": "1000", "volume": "1"}
FAULT = {"kind": "drop"}


async def _status(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: object
) -> tuple[int, dict[str, object]]:
    async with http.request(method, url, **kwargs) as reply:  # type: ignore[arg-type]
        return reply.status, await reply.json()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Host": "evil.example:8765"},
        {"Host": "192.168.1.10"},
    ],
    ids=["cross-site Origin", "opaque Origin", "rebound Host", "LAN Host"],
)
@pytest.mark.parametrize("route", ["POST /_sim/orders", "POST /_sim/faults", "GET /_sim/stats"])
async def test_a_foreign_host_or_origin_is_refused_with_403(
    sim: Simulator, http: aiohttp.ClientSession, headers: dict[str, str], route: str
) -> None:
    method, path = route.split()
    body = ORDER if path.endswith("orders") else FAULT
    kwargs = {"json": body} if method == "POST" else {}
    status, doc = await _status(http, method, sim.url + path, headers=headers, **kwargs)
    assert status == 403
    assert doc["error"]["name"] == "forbidden"  # type: ignore[index]
    assert sim.account.orders == {}
    assert sim.stats()["control_refused"] == 1


async def test_loopback_origins_and_hosts_are_accepted(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    for headers in (
        {},
        {"Origin": f"http://127.0.0.1:{sim.port}"},
        {"Origin": f"http://localhost:{sim.port}", "Host": f"localhost:{sim.port}"},
        {"Host": f"[::1]:{sim.port}"},
    ):
        status, _ = await _status(http, "GET", f"{sim.url}/_sim/stats", headers=headers)
        assert status == 200, headers


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_post_that_is_not_json_is_refused_with_415(
    sim: Simulator, http: aiohttp.ClientSession, content_type: str
) -> None:
    """The content types a page can POST cross-origin without a CORS preflight."""
    status, doc = await _status(
        http,
        "POST",
        f"{sim.url}/_sim/orders",
        data=b'{"market":"KRW-BTC","side":"bid","ord_type":"limit","price":"1000","volume":"1"}',
        headers={"Content-Type": content_type},
    )
    assert status == 415
    assert "application/json" in doc["error"]["message"]  # type: ignore[index]
    assert sim.account.orders == {}


async def test_a_control_token_is_required_when_set(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(control_token="s3cret-token")
    assert "s3cret-token" not in repr(sim.config)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        status, doc = await _status(
            http, "POST", f"{sim.url}/_sim/faults", json=FAULT, headers=headers
        )
        assert status == 401, headers
        assert "Bearer" in doc["error"]["message"]  # type: ignore[index]
    ok = {"Authorization": "Bearer s3cret-token"}
    status, _ = await _status(http, "POST", f"{sim.url}/_sim/faults", json=FAULT, headers=ok)
    assert status == 200
    status, _ = await _status(http, "GET", f"{sim.url}/_sim/stats", headers=ok)
    assert status == 200


async def test_the_market_routes_are_not_guarded(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    """Only /_sim/* is the control plane; REST quotation and WebSocket routes are Upbit's."""
    sim = await make_sim(control_token="t")
    async with http.get(f"{sim.url}/v1/market/all", headers={"Origin": "https://x.example"}) as r:
        assert r.status == 200


def test_is_loopback() -> None:
    for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "a.localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.0.1", "example.com", "localhost.example.com", ""):
        assert not is_loopback(host), host


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPBIT")}
    return subprocess.run(
        [sys.executable, "-m", "upbitws", "simulate", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_simulate_refuses_a_non_loopback_host_without_allow_remote(host: str) -> None:
    result = _simulate("--host", host)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert host in lines[0]
    assert "--allow-remote" in lines[0]
    assert result.stdout == ""


def test_simulate_with_allow_remote_warns() -> None:
    """The warning comes before anything is bound; a bad --rate then stops the command, so the
    test never listens beyond loopback."""
    result = _simulate("--host", "0.0.0.0", "--allow-remote", "--rate", "0")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: listening on 0.0.0.0"), result.stderr
    assert "--control-token" in lines[0]
    assert result.returncode == 2
    assert "listening on http" not in result.stdout
