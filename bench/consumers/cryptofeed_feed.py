"""cryptofeed's ``Upbit`` feed under a ``FeedHandler`` with async callbacks, as its examples
run it (it subscribes with ``format: SIMPLE`` and parses with ``yapic.json`` into Decimals).

cryptofeed's Upbit feed has TRADES and L2_BOOK only (no ticker channel): the ticker feed is
not applicable, and in the mix it sees ticker frames as "unhandled" (logged, not delivered).
It reconnects on the server's close without telling callbacks, so the run ends when every
deliverable message has arrived (or after ``--idle`` seconds of silence).

Overrides (the smallest cryptofeed allows): the ``Upbit`` class attributes
``websocket_endpoints`` and ``rest_endpoints`` (symbols come from ``/v1/market/all``); and,
because ``WSAsyncConn`` refuses any address but ``wss://``, the endpoint keeps a ``wss://``
address and ``cryptofeed.connection.connect`` (its imported ``websockets`` connect) is wrapped
to dial it as ``ws://`` on loopback.
"""

from __future__ import annotations

import asyncio
import logging

import cryptofeed.connection
from _common import Meter, parse_args
from cryptofeed import FeedHandler
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
from cryptofeed.defines import L2_BOOK, TRADES
from cryptofeed.exchanges import Upbit

_MIX = ("trade", "ticker", "trade", "ticker", "orderbook")  # the bench feed's mix order


def main() -> None:
    args = parse_args()
    meter = Meter("cryptofeed", args)
    if args.feed == "ticker":
        meter.report("n/a")
        return
    http = args.rest or args.url.replace("ws://", "http://").split("/websocket")[0]
    wss = args.url.replace("ws://", "wss://", 1)
    Upbit.websocket_endpoints = [WebsocketEndpoint(wss)]  # override
    dial = cryptofeed.connection.connect

    def connect(address: str, **kwargs: object) -> object:  # override: wss-only check
        return dial(address.replace("wss://", "ws://", 1), **kwargs)

    cryptofeed.connection.connect = connect
    Upbit.rest_endpoints = [RestEndpoint(http, routes=Routes("/v1/market/all"))]  # override
    if args.feed == "mix":
        whole, rest = divmod(args.count, len(_MIX))
        expect = whole * 3 + sum(1 for k in _MIX[:rest] if k != "ticker")
        channels = [TRADES, L2_BOOK]
    else:
        expect = args.count
        channels = [TRADES] if args.feed == "trade" else [L2_BOOK]
    tick = meter.tick
    lat = meter.lat
    end = ["timeout"]

    def finish(reason: str) -> None:
        end[0] = reason
        asyncio.get_event_loop().stop()

    async def on_trade(trade: object, receipt: float) -> None:
        tick()
        if lat:
            meter.sample(int(trade.id))  # type: ignore[attr-defined]
        if meter.count >= expect:
            finish("count")

    async def on_book(book: object, receipt: float) -> None:
        tick()
        if meter.count >= expect:
            finish("count")

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(0.25)
            if meter.count and meter.idle_for() > args.idle:
                finish("idle")

    logging.disable(logging.CRITICAL)
    handler = FeedHandler(config={"log": {"filename": "/dev/null", "level": "CRITICAL"}})
    callbacks = {TRADES: on_trade, L2_BOOK: on_book}
    handler.add_feed(
        Upbit(symbols=["BTC-KRW"], channels=channels, callbacks={c: callbacks[c] for c in channels})
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    guard = loop.create_task(watchdog())
    try:
        handler.run(start_loop=True, install_signal_handlers=False)
    except Meter.Deadline:
        end[0] = "timeout"
    guard.cancel()
    meter.report(end[0])


if __name__ == "__main__":
    main()
