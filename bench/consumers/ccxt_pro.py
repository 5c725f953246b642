"""ccxt.pro's upbit: ``watch_trades`` / ``watch_ticker`` / ``watch_order_book`` in a loop, as
ccxt's examples do (the mix runs the three loops concurrently on one connection).

``watch_trades`` returns the trades that arrived since the previous call; ``watch_ticker``
and ``watch_order_book`` return the latest state, so under saturation several frames may
collapse into one delivery: the harness counts throughput in frames the feed sent.

Override (the smallest ccxt allows): the instance's ``urls['api']`` entries, ``ws`` to the
bench feed's WebSocket URL and ``public`` to the harness's HTTP root (``load_markets()``
reads ``/v1/market/all`` there). Both are per-instance dicts ccxt builds from ``describe()``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
from _common import Meter, parse_args, run_async
from ccxt.base.errors import NetworkError

SYMBOL = "BTC/KRW"


def main() -> None:
    args = parse_args()
    meter = Meter("ccxt.pro", args)
    parts = urlsplit(args.url)

    async def consume() -> str:
        exchange = ccxtpro.upbit()
        exchange.urls["api"] = {  # override: the hostname template becomes the bench feed
            **exchange.urls["api"],
            "public": args.rest or f"http://{parts.netloc}",
            "ws": args.url,
        }
        tick = meter.tick
        lat = meter.lat

        async def trades() -> None:
            while True:
                for trade in await exchange.watch_trades(SYMBOL):
                    tick()
                    if lat:
                        meter.sample(int(trade["id"]))

        async def tickers() -> None:
            while True:
                await exchange.watch_ticker(SYMBOL)
                tick()

        async def books() -> None:
            while True:
                await exchange.watch_order_book(SYMBOL)
                tick()

        loops = {"trade": [trades], "ticker": [tickers], "orderbook": [books]}
        loops["mix"] = [trades, tickers, books]
        try:
            await exchange.load_markets()
            tasks = [asyncio.ensure_future(fn()) for fn in loops[args.feed]]
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, NetworkError):
                    raise exc
            return "close"  # ccxt rejects every watch with a NetworkError on the close
        finally:
            await exchange.close()

    run_async(meter, consume)


if __name__ == "__main__":
    main()
