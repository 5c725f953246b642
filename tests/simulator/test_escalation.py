"""Upbit's escalation after repeated 429s (§7, §14.A), and the 2026 idle-timeout default.

The 418 shape is a contract the client is written against: status 418, ``Retry-After: N``
(unless ``block_retry_after_header=False``), body
``{"error": {"name": "too_many_requests", "message": "Too many requests; blocked for N seconds"}}``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from upbitws.simulator import Simulator, SimulatorConfig
from upbitws.simulator.limits import Escalation

if TYPE_CHECKING:
    import aiohttp

    from simfactory import SimFactory

BLOCKED = re.compile(r"^Too many requests; blocked for (\d+) seconds$")


async def _upgrade(http: aiohttp.ClientSession, sim: Simulator) -> tuple[int, str | None, object]:
    """One upgrade attempt: (status, Retry-After, JSON body or None)."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with http.get(sim.ws_url.replace("ws://", "http://"), headers=headers) as reply:
        body = await reply.json() if reply.content_type == "application/json" else None
        return reply.status, reply.headers.get("Retry-After"), body


async def test_repeated_429s_escalate_to_418_with_the_block_in_the_body(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(connect_limit=1, block_after_429s=3, block_seconds=7.0)
    answers = [await _upgrade(http, sim) for _ in range(6)]
    statuses = [a[0] for a in answers]
    # 1 admitted, 2 x 429, the 3rd 429 becomes the first 418; blocked after that.
    assert statuses == [101, 429, 429, 418, 418, 418], statuses
    for _status, retry, body in answers[3:]:
        assert isinstance(body, dict)
        assert body["error"]["name"] == "too_many_requests"
        match = BLOCKED.match(body["error"]["message"])
        assert match, body
        assert retry == match.group(1)  # header and body agree
        assert retry is not None
        assert 1 <= int(retry) <= 7
    assert answers[3][1] == "7"
    assert sim.stats()["blocked_upgrades"] == 3


async def test_the_retry_after_header_can_be_omitted(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(
        connect_limit=1, block_after_429s=1, block_seconds=30.0, block_retry_after_header=False
    )
    await _upgrade(http, sim)
    status, retry, body = await _upgrade(http, sim)
    assert status == 418
    assert retry is None
    assert isinstance(body, dict)
    assert body["error"]["message"] == "Too many requests; blocked for 30 seconds"


async def test_no_escalation_by_default(make_sim: SimFactory, http: aiohttp.ClientSession) -> None:
    sim = await make_sim(connect_limit=1)
    statuses = [(await _upgrade(http, sim))[0] for _ in range(8)]
    assert statuses[0] == 101
    assert set(statuses[1:]) == {429}


async def test_a_418_fault_has_the_same_shape(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.apply_fault("reject_upgrade", status=418, retry_after=120, target="next")
    status, retry, body = await _upgrade(http, sim)
    assert (status, retry) == (418, "120")
    assert body == {
        "error": {
            "name": "too_many_requests",
            "message": "Too many requests; blocked for 120 seconds",
        }
    }


def test_the_block_grows_with_repetition_and_expires() -> None:
    """Sans-I/O: time is an input."""
    esc = Escalation(2, window=10.0, base=5.0, maximum=30.0)
    now = 0.0
    blocks = []
    for _ in range(4):
        assert esc.record_429("ip", now) == 0.0
        block = esc.record_429("ip", now + 1)
        blocks.append(block)
        assert esc.blocked_for("ip", now + 1) == pytest.approx(block)
        assert esc.blocked_for("other", now + 1) == 0.0
        now += 1 + block
        assert esc.blocked_for("ip", now) == 0.0  # expired
    assert blocks == [5.0, 10.0, 20.0, 30.0]  # doubles, capped at maximum
    # 429s further apart than the window never block.
    esc2 = Escalation(2, window=10.0)
    assert esc2.record_429("ip", 0.0) == 0.0
    assert esc2.record_429("ip", 10.5) == 0.0


def test_idle_timeout_defaults_to_60_seconds_and_120_stays_reachable() -> None:
    """§5, §14.A: 60.5–61.3 s measured in 2026; the documented 120 s is a knob."""
    assert SimulatorConfig().idle_timeout == 60.0
    assert SimulatorConfig(idle_timeout=120.0).idle_timeout == 120.0
    assert SimulatorConfig().auth_failure == "by_case"
