"""Small helpers for talking to the simulator like any Upbit client would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import jwt

CLOSING = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


def req(*objects: dict[str, Any], ticket: str = "test", fmt: str | None = None) -> str:
    """A request: ``[{"ticket"}, *objects, {"format"}?]`` as JSON text."""
    body: list[dict[str, Any]] = [{"ticket": ticket}, *objects]
    if fmt is not None:
        body.append({"format": fmt})
    return json.dumps(body)


def token(access_key: str, secret_key: str, *, alg: str = "HS512", nonce: str | None = None) -> str:
    payload = {"access_key": access_key, "nonce": nonce or str(uuid.uuid4())}
    return jwt.encode(payload, secret_key, algorithm=alg)


async def recv(ws: aiohttp.ClientWebSocketResponse, wait: float = 3.0) -> aiohttp.WSMessage:
    return await ws.receive(timeout=wait)


async def recv_json(ws: aiohttp.ClientWebSocketResponse, wait: float = 3.0) -> Any:
    """The next frame, which must be a binary frame of JSON (protocol §2.4)."""
    msg = await recv(ws, wait)
    assert msg.type == aiohttp.WSMsgType.BINARY, (msg.type, msg.data)
    return json.loads(msg.data)


async def collect(
    ws: aiohttp.ClientWebSocketResponse, seconds: float, *, limit: int = 100_000
) -> list[Any]:
    """Every data frame (decoded JSON) received within ``seconds``; stops at a close."""
    out: list[Any] = []
    deadline = time.monotonic() + seconds
    while len(out) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if msg.type in CLOSING:
            break
        assert msg.type == aiohttp.WSMsgType.BINARY, (msg.type, msg.data)
        out.append(json.loads(msg.data))
    return out


async def expect_error(
    ws: aiohttp.ClientWebSocketResponse, name: str, message: str | None = None
) -> dict[str, Any]:
    """Skip data frames until the error frame; then the server must close with 1000 (§6)."""
    for _ in range(10_000):
        frame = await recv_json(ws)
        if isinstance(frame, dict) and "error" in frame:
            break
    else:
        raise AssertionError("no error frame")
    assert frame["error"]["name"] == name, frame
    if message is not None:
        assert frame["error"]["message"] == message, frame
    await expect_close(ws, 1000)
    return frame


async def expect_close(ws: aiohttp.ClientWebSocketResponse, code: int) -> None:
    """The next non-data message is a close frame with ``code``."""
    while True:
        msg = await recv(ws, 3.0)
        if msg.type in CLOSING:
            break
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    assert msg.data == code
    assert ws.close_code == code


async def expect_abort(ws: aiohttp.ClientWebSocketResponse, wait: float = 3.0) -> None:
    """The connection ends with no close frame: the client sees 1006 (§5)."""
    while True:
        msg = await recv(ws, wait)
        assert msg.type != aiohttp.WSMsgType.CLOSE, "a close frame was sent"
        if msg.type in CLOSING or msg.type == aiohttp.WSMsgType.ERROR:
            break
    assert ws.close_code == 1006


def items(frames: list[Any]) -> list[dict[str, Any]]:
    """Flatten JSON_LIST / SIMPLE_LIST arrays into their events."""
    out: list[dict[str, Any]] = []
    for frame in frames:
        out.extend(frame if isinstance(frame, list) else [frame])
    return out


def kind(frame: dict[str, Any]) -> tuple[str, str]:
    """(type, code) of a DEFAULT or SIMPLE data frame."""
    type_, code = frame.get("type", frame.get("ty")), frame.get("code", frame.get("cd"))
    assert isinstance(type_, str), f"no type in {frame}"
    assert isinstance(code, str), f"no code in {frame}"
    return type_, code


def stream_type(frame: dict[str, Any]) -> str | None:
    st: str | None = frame.get("stream_type", frame.get("st"))
    return st
