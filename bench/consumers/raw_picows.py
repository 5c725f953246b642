"""The fastest raw loop measured here (architecture §4): a bare picows listener counting frames.

Nothing touches the payload in saturation mode; in latency mode the trade's
``sequential_id`` is cut out of the bytes without parsing the JSON.
"""

from __future__ import annotations

import asyncio

from _common import Meter, parse_args, run_async, sid_from_bytes, upbit_request
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect


def main() -> None:
    args = parse_args()
    meter = Meter("picows-raw", args)
    request = upbit_request(args.feed).encode()

    class Listener(WSListener):
        def __init__(self) -> None:
            self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self.tick = meter.tick
            self.lat = meter.lat

        def on_ws_connected(self, transport: WSTransport) -> None:
            transport.send(WSMsgType.TEXT, request)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            kind = frame.msg_type
            if kind is WSMsgType.BINARY or kind is WSMsgType.TEXT:
                self.tick()
                if self.lat:
                    meter.sample(sid_from_bytes(frame.get_payload_as_bytes()))
            elif kind is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
                if not self.done.done():
                    self.done.set_result("close")

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            if not self.done.done():
                self.done.set_result("close")

    async def consume() -> str:
        transport, listener = await ws_connect(Listener, args.url)
        assert isinstance(listener, Listener)
        try:
            return await listener.done
        finally:
            transport.disconnect()
            await transport.wait_disconnected()

    run_async(meter, consume)


if __name__ == "__main__":
    main()
