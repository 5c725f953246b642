"""upbitws end to end: ``upbitws.connect`` → typed models in the consumer's ``async for``.

Defaults as a user gets them (keepalive, liveness watchdog, reconnection, stats), except
``conflate=False`` so that every ticker/orderbook reaches the consumer too (conflation would
only make upbitws look faster under saturation) and ``include_events=True`` to see the
server's close in order with the data (the stream itself would reconnect).
``--numbers decimal`` (exact, the default) or ``float``.
"""

from __future__ import annotations

from _common import Meter, parse_args, run_async

import upbitws
from upbitws import Connected, Disconnected, Trade

_SUBS = {
    "trade": [upbitws.trade("KRW-BTC")],
    "ticker": [upbitws.ticker("KRW-BTC")],
    "orderbook": [upbitws.orderbook("KRW-BTC")],
    "mix": [upbitws.trade("KRW-BTC"), upbitws.ticker("KRW-BTC"), upbitws.orderbook("KRW-BTC")],
}


def main() -> None:
    args = parse_args(numbers={"default": "decimal", "choices": ["decimal", "float"]})
    name = "upbitws-exact" if args.numbers == "decimal" else "upbitws-float"
    meter = Meter(name, args)

    async def consume() -> str:
        tick = meter.tick
        lat = meter.lat
        async with upbitws.connect(
            _SUBS[args.feed],
            url=args.url,
            numbers=args.numbers,
            conflate=False,
            include_events=True,
        ) as stream:
            async for message in stream:
                cls = type(message)
                if cls is Disconnected:
                    stats = stream.stats()
                    meter.notes["received"] = stats.messages_received
                    meter.notes["dropped"] = stats.dropped
                    return "close"
                if cls is Connected:
                    continue
                tick()
                if lat and cls is Trade:
                    meter.sample(message.sequential_id)
        return "close"

    run_async(meter, consume)


if __name__ == "__main__":
    main()
