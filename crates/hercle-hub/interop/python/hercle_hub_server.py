"""A small HercleX-like hub hosted by aiosignalr (PyPI, third-party), for
the hercle-hub interop test.

The five methods hub_flow needs, answered as the HercleX docs describe:
one array argument ``[clientId, ...]``, results as ``executionEvents``
envelopes whose ``data`` is a JSON string, prices on ``subscriptions``.
aiosignalr sends its JSON records in *binary* WebSocket frames; that stock
behaviour is kept on purpose (the client must accept it).

Prints ``LISTENING <port>`` once serving on 127.0.0.1; runs until killed.
Numbers are written as JSON text, never through Python floats.
"""

import asyncio
import json
import sys

from aiosignalr.server import Hub, ServerOptions, SignalRServer

PAIRS = (
    '[{"name":"BTCUSDT","asset":"BTC","currency":"USDT","minSize":0.0001,'
    '"maxSize":100,"minQuoteSize":1,"maxQuoteSize":1000000}]'
)
BALANCES = '{"userId":"u1","sequence":1,"assets":[{"name":"BTC","available":10.123456789012345678,"allocated":0}]}'

_streams = {}


def envelope(channel, subject, client_id, data_text):
    return json.dumps(
        {
            "channel": channel,
            "topic": subject.split(".")[0].capitalize(),
            "subject": subject,
            "type": "message",
            "clientId": client_id,
            "data": data_text,
        }
    )


class HercleLikeHub(Hub):
    async def GetPairs(self, args):
        client_id = args[0]
        await self.clients.caller.send(
            "executionEvents", envelope("executionEvents", "execution.pairs", client_id, PAIRS)
        )

    async def GetBalances(self, args):
        client_id = args[0]
        await self.clients.caller.send(
            "executionEvents",
            envelope("executionEvents", "account.balances.snapshot", client_id, BALANCES),
        )

    async def SubscribePairPriceChannel(self, args):
        client_id, pair, size = args[0], args[1], args[2]
        caller = self.clients.caller

        async def push():
            n = 0
            while True:
                n += 1
                quote = (
                    '{"id":"00000000-0000-0000-0000-%012x","pair":"%s","buyPrice":26798.5%d,'
                    '"sellPrice":26790.25,"size":%s,"timeStamp":"2025-01-01T12:00:00Z"}'
                    % (n, pair, n % 10, json.dumps(size))
                )
                await caller.send(
                    "subscriptions",
                    envelope("subscriptions", "execution.feeds.priceUpdate", client_id, quote),
                )
                await asyncio.sleep(0.05)

        _streams[client_id] = asyncio.get_running_loop().create_task(push())

    async def UnsubscribePairPriceChannel(self, args):
        task = _streams.pop(args[0], None)
        if task is not None:
            task.cancel()

    async def PlaceOtcOrder(self, args):
        client_id, price_id, side = args[0], args[1], args[2]
        if not str(price_id).startswith("00000000-"):
            await self.clients.caller.send(
                "executionEvents",
                envelope("executionEvents", "preChecksError", client_id, '{"message":"Price not found"}'),
            )
            return
        trade = (
            '{"tradeId":"t-1","side":%s,"pair":"BTCUSDT","price":26798.5,"size":0.5,'
            '"status":1,"clientId":%s}' % (json.dumps(side), json.dumps(client_id))
        )
        await self.clients.caller.send(
            "executionEvents",
            envelope("executionEvents", "execution.order.executed", client_id, trade),
        )


async def main():
    server = SignalRServer(HercleLikeHub, options=ServerOptions())
    _, port = await server.serve("127.0.0.1", 0, path="/ExecutionLiveServer/v1")
    print("LISTENING %d" % port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
