"""The practical limit: a bare aiohttp receive loop, raw or with msgspec decode to dict.

``--decode none``: count frames (nothing touches the payload). ``--decode msgspec``: each
frame becomes a dict with ``msgspec.json.Decoder().decode`` (what any typed client must at
least do). ``--decode msgspec-decimal``: the same with every JSON float as a ``Decimal``
(``float_hook=Decimal``), the ceiling for exact numbers. No keepalive, reconnection or
buffering: this is a ceiling, not a client.
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import msgspec
from _common import Meter, parse_args, run_async, sid_from_bytes, upbit_request


def main() -> None:
    choices = ["none", "msgspec", "msgspec-decimal"]
    args = parse_args(decode={"default": "none", "choices": choices})
    name = {
        "none": "aiohttp-raw",
        "msgspec": "aiohttp+msgspec",
        "msgspec-decimal": "aiohttp+msgspec-Decimal",
    }[args.decode]
    meter = Meter(name, args)
    data_types = (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)

    async def consume() -> str:
        if args.decode == "msgspec-decimal":
            decoder = msgspec.json.Decoder(float_hook=Decimal)
        else:
            decoder = msgspec.json.Decoder()
        tick = meter.tick
        lat = meter.lat
        decode = args.decode != "none"
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(args.url, max_msg_size=0) as ws,
        ):
            await ws.send_str(upbit_request(args.feed))
            while True:
                msg = await ws.receive()
                if msg.type in data_types:
                    if decode:
                        obj = decoder.decode(msg.data)
                        tick()
                        if lat:
                            meter.sample(obj["sequential_id"])
                    else:
                        tick()
                        if lat:
                            meter.sample(sid_from_bytes(msg.data))
                else:
                    return "close"

    run_async(meter, consume)


if __name__ == "__main__":
    main()
