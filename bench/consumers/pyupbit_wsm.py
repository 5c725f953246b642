"""pyupbit's ``WebSocketManager`` as its docs use it: ``wm.get()`` in a loop.

The manager is a ``multiprocessing.Process``: a child runs a ``websockets`` loop that
``json.loads`` every frame and puts the dict on an ``mp.Queue(1000)``; ``get()`` in this
process takes them off. CPU includes the child's (reaped at the end); RSS is the larger one.

Override (the smallest pyupbit allows): the URI is a local string inside
``WebSocketManager.__connect_socket``, so the module's ``websockets`` name is rebound to a
proxy whose ``connect()`` swaps in the bench URL and passes everything else through. The child
is forked, so it inherits the patch.
"""

from __future__ import annotations

import types
from typing import Any

import pyupbit.websocket_api as wsapi
import websockets
from _common import Meter, parse_args

_TYPES = {"trade": "trade", "ticker": "ticker", "orderbook": "orderbook", "mix": "trade"}


def main() -> None:
    args = parse_args()
    meter = Meter("pyupbit", args, children=True)

    def connect(uri: str, **kwargs: Any) -> Any:  # override: pyupbit hard-codes the URI
        return websockets.connect(args.url, **kwargs)

    proxy = types.SimpleNamespace(**{n: getattr(websockets, n) for n in ("ConnectionClosed",)})
    proxy.connect = connect
    wsapi.websockets = proxy

    # pyupbit subscribes to one type; the bench feed answers with the whole mix anyway.
    wm = wsapi.WebSocketManager(_TYPES[args.feed], ["KRW-BTC"])
    tick = meter.tick
    lat = meter.lat
    end = "timeout"
    try:
        while True:
            data = wm.get()
            if data == "ConnectionClosedError":
                end = "close"
                break
            tick()
            if lat:
                meter.sample(data["sequential_id"])
    except Meter.Deadline:
        end = "timeout"
    finally:
        wm.terminate()
        wm.join(5)
    meter.report(end)


if __name__ == "__main__":
    main()
