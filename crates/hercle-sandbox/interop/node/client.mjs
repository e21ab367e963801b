// The official @microsoft/signalr client against the sandbox hub.
//
//   node client.mjs <hub url> <api key> <sandbox base url> [ws|sse|lp]
//
// The last argument forces one transport (default: WebSockets).
// Prints one `CHECK <name>` line per step that worked and exits 0; any
// failure or the overall deadline exits 1. Run by tests/hub_interop.rs.
import * as signalR from "@microsoft/signalr";

const [hubUrl, apiKey, baseUrl, transportName = "ws"] = process.argv.slice(2);
const transports = {
  ws: signalR.HttpTransportType.WebSockets,
  sse: signalR.HttpTransportType.ServerSentEvents,
  lp: signalR.HttpTransportType.LongPolling,
};
if (!hubUrl || !apiKey || !baseUrl || !(transportName in transports)) {
  console.error("usage: node client.mjs <hub url> <api key> <sandbox base url> [ws|sse|lp]");
  process.exit(2);
}

// The whole run is bounded, whatever the server does.
const deadline = setTimeout(() => {
  console.error("FAIL deadline exceeded");
  process.exit(1);
}, 30_000);

const check = (name, detail = "") => console.log(`CHECK ${name}${detail ? " " + detail : ""}`);

// Waiters for envelopes, keyed by "<channel>|<clientId>".
const waiters = new Map();
function waitFor(channel, clientId, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const key = `${channel}|${clientId}`;
    const timer = setTimeout(() => {
      waiters.delete(key);
      reject(new Error(`no ${channel} envelope for ${clientId}`));
    }, ms);
    waiters.set(key, (env) => {
      clearTimeout(timer);
      waiters.delete(key);
      resolve(env);
    });
  });
}
function deliver(channel, raw) {
  // HercleX sends the envelope as a JSON string; accept an object too.
  const env = typeof raw === "string" ? JSON.parse(raw) : raw;
  const waiter = waiters.get(`${channel}|${env.clientId}`);
  if (waiter) waiter(env);
}
// `data` is itself JSON in a string.
const dataOf = (env) => (typeof env.data === "string" ? JSON.parse(env.data) : env.data);

const connection = new signalR.HubConnectionBuilder()
  .withUrl(hubUrl, { accessTokenFactory: () => apiKey, transport: transports[transportName] })
  // Short delays: the test drops the connection on purpose.
  .withAutomaticReconnect([0, 200, 1000, 2000])
  .configureLogging(signalR.LogLevel.Warning)
  .build();
connection.on("executionEvents", (raw) => deliver("executionEvents", raw));
connection.on("subscriptions", (raw) => deliver("subscriptions", raw));

let reconnected;
const reconnectedOnce = new Promise((resolve) => (reconnected = resolve));
connection.onreconnecting((err) => check("reconnecting", String(err?.message ?? "")));
connection.onreconnected((id) => reconnected(id));

async function subscribeAndGetPrice(clientId) {
  const update = waitFor("subscriptions", clientId);
  await connection.invoke("SubscribePairPriceChannel", [clientId, "BTCUSDT", 0.01]);
  const env = await update;
  if (env.subject !== "execution.feeds.priceUpdate") throw new Error(`subject ${env.subject}`);
  return dataOf(env);
}

async function main() {
  await connection.start();
  const firstId = connection.connectionId;
  check("connected", firstId);

  const pairsEnv = waitFor("executionEvents", "js-pairs");
  await connection.invoke("GetPairs", ["js-pairs"]);
  const pairs = dataOf(await pairsEnv);
  if (!Array.isArray(pairs) || !pairs.some((p) => p.name === "BTCUSDT")) throw new Error("no BTCUSDT in GetPairs");
  check("pairs", String(pairs.length));

  // Spread arguments, as most of HercleX's code samples call it.
  const spreadEnv = waitFor("executionEvents", "js-spread");
  await connection.invoke("GetPairs", "js-spread");
  if ((await spreadEnv).subject !== "execution.pairs") throw new Error("spread GetPairs");
  check("spread");

  const quote = await subscribeAndGetPrice("js-sub");
  check("price", quote.id);

  const orderEnv = waitFor("executionEvents", "js-order");
  await connection.invoke("PlaceOtcOrder", ["js-order", quote.id, "buy", 0.5]);
  const order = await orderEnv;
  const trade = dataOf(order);
  if (order.subject !== "execution.order.executed" || trade.status !== 1) {
    throw new Error(`order not executed: ${JSON.stringify(order)}`);
  }
  check("order", trade.tradeId);

  await connection.invoke("UnsubscribePairPriceChannel", ["js-sub", "BTCUSDT", 0.01]);

  // Injected drop: the socket dies without a Close; automatic reconnect
  // negotiates a new connection, whose subscriptions start empty.
  const resp = await fetch(`${baseUrl}/_sandbox/faults/hub`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: "drop", connectionId: firstId }),
  });
  if (!resp.ok) throw new Error(`fault injection: HTTP ${resp.status}`);
  const newId = await reconnectedOnce;
  if (newId === firstId) throw new Error("reconnect kept the connection id");
  check("reconnected", newId);

  const again = await subscribeAndGetPrice("js-sub-2");
  check("price-after-reconnect", again.id);

  await connection.stop();
  check("done");
}

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  (err) => {
    console.error(`FAIL ${err?.stack ?? err}`);
    process.exit(1);
  },
);
