"""Request validation: Upbit's error names, messages and order, then close 1000.

Protocol §3.6, §6, §12.4.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._wire import collect, expect_error, kind, recv_json, req

if TYPE_CHECKING:
    import aiohttp

    from upbitws.simulator import Simulator

DATA = Path(__file__).parent.parent / "data"
T = {"ticket": "t"}


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


WRONG, TICKET, TYPE = "error_wrong_format.json", "error_no_ticket.json", "error_no_type.json"
PARAM, CODES = "error_invalid_param.json", "error_no_codes.json"
UNKNOWN, AUTH = "error_invalid_param_unknown_type_wire.json", "error_invalid_auth.json"
BTC = {"type": "trade", "codes": ["KRW-BTC"]}

CASES: list[tuple[str, str | list[Any] | dict[str, Any], str]] = [
    ("plain text", "hello", WRONG),
    ("a JSON object, not an array", {"ticket": "t", "type": "trade"}, WRONG),
    ("invalid JSON", '[{"ticket":', WRONG),
    ("no ticket object", [BTC], TICKET),
    ("empty ticket", [{"ticket": ""}, BTC], TICKET),
    ("no type", [T, {"codes": ["KRW-BTC"]}], TYPE),
    ("unknown type", [T, {"type": "nope", "codes": ["KRW-BTC"]}], UNKNOWN),
    ("no codes", [T, {"type": "ticker"}], CODES),
    ("empty codes", [T, {"type": "orderbook", "codes": []}], PARAM),
    ("private type on the public URL", [T, {"type": "myOrder"}], AUTH),
    # Validation order (§12.4): the first failing check wins.
    ("ticket checked before type", [{"type": "nope"}], TICKET),
    ("type checked before codes", [T, {"type": "trade"}, {"codes": ["KRW-BTC"]}], TYPE),
    ("known type before codes", [T, {"type": "trade"}, {"type": "nope", "codes": ["X"]}], UNKNOWN),
    ("codes before auth", [T, {"type": "myAsset"}, {"type": "ticker"}], CODES),
]


@pytest.mark.parametrize(
    ("payload", "expected"), [(p, e) for _, p, e in CASES], ids=[c[0] for c in CASES]
)
async def test_error_frame_then_close_1000(
    sim: Simulator, http: aiohttp.ClientSession, payload: Any, expected: str
) -> None:
    want = sample(expected)["error"]
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))
        started = time.monotonic()
        frame = await expect_error(ws, want["name"], want["message"])
        # The KR host closes ~150-180 ms after the error (§2.6).
        assert time.monotonic() - started >= 0.1
    assert frame == {"error": want}


async def test_error_after_a_valid_subscription_closes_it(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "ticker", "codes": ["KRW-BTC"]}))
        assert kind(await recv_json(ws)) == ("ticker", "KRW-BTC")
        await ws.send_str("[]")
        await expect_error(ws, "WRONG_FORMAT")


async def test_unknown_and_lower_case_codes_are_ignored(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """§3.3: no error and no frames for them; the other codes still stream."""
    codes = ["krw-btc", "KRW-NOPE", "KRW-ETH", "KRW-ETH.x"]
    async with http.ws_connect(sim.ws_url) as ws:
        await ws.send_str(req({"type": "trade", "codes": codes}))
        frames = await collect(ws, 0.4)
    assert frames
    assert {kind(f) for f in frames} == {("trade", "KRW-ETH")}
