"""Real-time tickers the way Upbit's documentation does it: send the documented request, decode
each binary frame as UTF-8 JSON. Nothing here knows about upbitws; only ``URL`` differs from a
script written for the real exchange (the test swaps that one line)."""

import asyncio
import json
import uuid

import aiohttp

URL = "wss://api.upbit.com/websocket/v1"


async def main() -> None:
    request = [
        {"ticket": str(uuid.uuid4())},
        {"type": "ticker", "codes": ["KRW-BTC", "KRW-ETH"]},
        {"format": "DEFAULT"},
    ]
    async with aiohttp.ClientSession() as session, session.ws_connect(URL) as ws:
        await ws.send_str(json.dumps(request))
        received = 0
        async for message in ws:
            data = json.loads(message.data.decode("utf-8"))
            print(data["code"], data["trade_price"], data["stream_type"])
            received += 1
            if received == 5:
                break


if __name__ == "__main__":
    asyncio.run(main())
