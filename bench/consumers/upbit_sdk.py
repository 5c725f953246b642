"""The official SDK's websocket stream (``upbit-sdk[websockets]``, module ``upbit``):
``async with client.ws_stream.trade([...]) as conn: async for event in conn`` — the
``websockets`` library underneath, pydantic models out.

Override: none to the code; the documented ``AsyncUpbit(websocket_base_url=...)`` option
points it at the bench feed (the SDK appends ``/websocket/v1``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from _common import Meter, parse_args, run_async
from upbit import AsyncUpbit


def main() -> None:
    args = parse_args()
    meter = Meter("upbit-sdk", args)
    parts = urlsplit(args.url)
    base = f"{parts.scheme}://{parts.netloc}"

    async def consume() -> str:
        client = AsyncUpbit(
            access_key="bench",
            secret_key="bench",
            base_url=f"http://{parts.netloc}",
            websocket_base_url=base,
        )
        ws = client.ws_stream
        if args.feed == "mix":
            manager = ws.subscribe(trade=["KRW-BTC"], ticker=["KRW-BTC"], orderbook=["KRW-BTC"])
        else:
            manager = getattr(ws, args.feed)(["KRW-BTC"])
        tick = meter.tick
        lat = meter.lat
        try:
            async with manager as conn:
                async for event in conn:
                    tick()
                    if lat:
                        meter.sample(event.sequential_id)
        finally:
            await client.close()
        return "close"  # the iterator ends on the server's 1000 close

    run_async(meter, consume)


if __name__ == "__main__":
    main()
