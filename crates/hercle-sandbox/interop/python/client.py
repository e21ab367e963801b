"""The signalrcore client (the one HercleX's docs recommend) against the
sandbox hub.

    python client.py <hub url> <api key> <sandbox base url> [ws|sse|lp]

The last argument forces one transport (default: WebSockets).

Prints one ``CHECK <name>`` line per step that worked and exits 0; any
failure or the overall deadline exits 1. Run by tests/hub_interop.rs.
"""

import json
import logging
import os
import queue
import sys
import threading
import urllib.request

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.types import HttpTransportType

TRANSPORTS = {
    "ws": HttpTransportType.web_sockets,
    "sse": HttpTransportType.server_sent_events,
    "lp": HttpTransportType.long_polling,
}

DEADLINE_S = 60
WAIT_S = 10


def check(name, detail=""):
    print(f"CHECK {name}{' ' + detail if detail else ''}", flush=True)


def fail(why):
    print(f"FAIL {why}", file=sys.stderr, flush=True)
    # signalrcore's socket threads are not daemons: leave without them.
    os._exit(1)


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[4:5] not in ([], ["ws"], ["sse"], ["lp"]):
        print("usage: client.py <hub url> <api key> <sandbox base url> [ws|sse|lp]", file=sys.stderr)
        sys.exit(2)
    hub_url, api_key, base_url = sys.argv[1:4]
    transport = TRANSPORTS[sys.argv[4] if len(sys.argv) == 5 else "ws"]
    watchdog = threading.Timer(DEADLINE_S, lambda: fail("deadline exceeded"))
    watchdog.daemon = True
    watchdog.start()

    # Envelopes by (channel, clientId). HercleX sends each as a JSON string
    # whose `data` is JSON in a string again; accept objects too.
    inbox = {}
    lock = threading.Lock()

    def box(channel, client_id):
        with lock:
            return inbox.setdefault((channel, client_id), queue.Queue())

    def deliver(channel):
        def handler(args):
            raw = args[0]
            env = json.loads(raw) if isinstance(raw, str) else raw
            box(channel, env.get("clientId")).put(env)

        return handler

    def wait_for(channel, client_id):
        try:
            return box(channel, client_id).get(timeout=WAIT_S)
        except queue.Empty:
            fail(f"no {channel} envelope for {client_id}")

    def data_of(env):
        data = env["data"]
        return json.loads(data) if isinstance(data, str) else data

    opened = threading.Event()
    reconnected = threading.Event()
    hub = (
        HubConnectionBuilder()
        .with_url(hub_url, options={"access_token_factory": lambda: api_key, "transport": transport})
        .configure_logging(logging.ERROR)
        .with_automatic_reconnect(
            {"type": "raw", "keep_alive_interval": 10, "reconnect_interval": 1, "max_attempts": 10}
        )
        .build()
    )
    hub.on_open(opened.set)
    hub.on_reconnect(reconnected.set)
    hub.on("executionEvents", deliver("executionEvents"))
    hub.on("subscriptions", deliver("subscriptions"))

    hub.start()
    # start() returns before the handshake is done (signalrcore #108).
    if not opened.wait(WAIT_S):
        fail("not connected")
    check("connected")

    # One array argument: SignalR arguments [["py-pairs"]].
    hub.send("GetPairs", [["py-pairs"]])
    pairs = data_of(wait_for("executionEvents", "py-pairs"))
    if not any(p.get("name") == "BTCUSDT" for p in pairs):
        fail("no BTCUSDT in GetPairs")
    check("pairs", str(len(pairs)))

    # Spread arguments.
    hub.send("GetPairs", ["py-spread"])
    if wait_for("executionEvents", "py-spread")["subject"] != "execution.pairs":
        fail("spread GetPairs")
    check("spread")

    def subscribe_and_get_price(client_id):
        hub.send("SubscribePairPriceChannel", [[client_id, "BTCUSDT", 0.01]])
        env = wait_for("subscriptions", client_id)
        if env["subject"] != "execution.feeds.priceUpdate":
            fail(f"subject {env['subject']}")
        return data_of(env)

    quote = subscribe_and_get_price("py-sub")
    check("price", quote["id"])

    hub.send("PlaceOtcOrder", [["py-order", quote["id"], "buy", 0.5]])
    order = wait_for("executionEvents", "py-order")
    trade = data_of(order)
    if order["subject"] != "execution.order.executed" or trade.get("status") != 1:
        fail(f"order not executed: {order}")
    check("order", trade["tradeId"])
    hub.send("UnsubscribePairPriceChannel", [["py-sub", "BTCUSDT", 0.01]])

    # Injected drop of every connection (this sandbox only serves us).
    # signalrcore's long-polling client swallows every poll error, 404
    # included, so it never notices a dropped connection (its reconnect
    # waits for the polling thread to end); there the sandbox closes the
    # connection with a Close message that allows reconnecting instead.
    fault = {"action": "drop"}
    if transport is HttpTransportType.long_polling:
        fault = {"action": "close", "allowReconnect": True}
    req = urllib.request.Request(
        f"{base_url}/_sandbox/faults/hub",
        data=json.dumps(fault).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=WAIT_S) as resp:
        if resp.status != 200:
            fail(f"fault injection: HTTP {resp.status}")
    # Generous: signalrcore retries once a second, and CI may be busy.
    if not reconnected.wait(3 * WAIT_S):
        fail("no reconnect after the drop")
    check("reconnected")

    # Subscriptions are per connection: subscribe again after reconnecting.
    again = subscribe_and_get_price("py-sub-2")
    check("price-after-reconnect", again["id"])

    hub.stop()
    check("done")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        fail(repr(e))
