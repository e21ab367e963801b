"""signalrcore (the Python client HercleX's docs recommend) doing the
contract's SignalR suite: connect (negotiate, WebSockets, JSON), subscribe
with one array argument, and handle every `subscriptions` message as the
guide's handler does (parse the envelope string, check the subject, parse the
`data` string, use the fields). Latency: CLOCK_MONOTONIC after parsing minus
data.timestamp. Run with PYTHONPATH pointing at the sandbox interop test's
pinned install (crates/hercle-sandbox/interop/python/.deps)."""
import json, logging, os, resource, struct, sys, threading, time
from importlib.metadata import version

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.types import HttpTransportType

env = os.environ
count = int(env.get("BENCH_COUNT", "100000"))
warmup = int(env.get("BENCH_WARMUP", "0"))
timeout = float(env.get("BENCH_TIMEOUT_S", "60"))
state = {"received": 0, "errors": 0, "t0": 0, "t1": 0, "cpu0": 0.0, "cpu": 0.0}
lat = []
done = threading.Event()


def out(**fields):
    line = {"contestant": "python-signalrcore", "kind": "signalr",
            "library": f"signalrcore {version('signalrcore')}",
            "runtime": f"python {sys.version.split()[0]}", "expected": count}
    line.update(fields)
    print(json.dumps(line), flush=True)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def on_subscriptions(args):
    if state["received"] >= count:
        return
    response = json.loads(args[0])
    if response["subject"] != "execution.feeds.priceUpdate":
        state["errors"] += 1
        return
    price_data = json.loads(response["data"])
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    if state["received"] == 0:
        state["t0"], state["cpu0"] = now, cpu()
    state["received"] += 1
    ok = (price_data["pair"] == "BTCUSDT" and price_data["id"] and price_data["buyPrice"] > 0
          and "sellPrice" in price_data and "markPrice" in price_data)
    if not ok:
        state["errors"] += 1
    if state["received"] > warmup:
        lat.append(now - price_data["timestamp"])
    if state["received"] == count:
        state["t1"], state["cpu"] = now, cpu() - state["cpu0"]
        done.set()


def main():
    hub = (
        HubConnectionBuilder()
        .with_url(env["HERCLE_HUB_URL"], options={
            "access_token_factory": lambda: env["HERCLE_API_KEY"],
            "transport": HttpTransportType.web_sockets,
        })
        .configure_logging(logging.ERROR)
        .build()
    )
    opened = threading.Event()
    hub.on_open(opened.set)
    hub.on("subscriptions", on_subscriptions)
    hub.start()
    # start() returns before the handshake is done (signalrcore #108).
    if not opened.wait(timeout):
        out(error="not connected")
        os._exit(1)
    hub.invoke("SubscribePairPriceChannel", [["py-bench", "BTCUSDT", 0.01]])
    if not done.wait(timeout):
        out(error="timeout", received=state["received"])
        os._exit(1)
    n = state["received"]
    secs = (state["t1"] - state["t0"]) / 1e9
    if env.get("BENCH_LAT_FILE"):
        with open(env["BENCH_LAT_FILE"], "wb") as f:
            f.write(struct.pack(f"<{len(lat)}q", *lat))
    out(received=n, errors=state["errors"], first_to_last_s=secs,
        msgs_per_s=(n - 1) / secs if secs else 0, cpu_s=state["cpu"],
        cpu_s_per_million=state["cpu"] * 1e6 / (n - 1) if n > 1 else 0,
        lat_samples=len(lat))
    # signalrcore's socket threads are not daemons: leave without them.
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure is a failed run
        out(error=repr(e))
        os._exit(1)
