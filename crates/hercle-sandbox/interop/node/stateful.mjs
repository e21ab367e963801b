// The official @microsoft/signalr client with stateful reconnect against the
// sandbox hub: a WebSocket dropped in the middle of a price stream is
// reopened and the hub replays what the client had not acknowledged, so the
// application sees every update exactly once and no reconnect at all.
//
//   node stateful.mjs <hub url> <api key> <sandbox base url> <updates>
//
// The sandbox numbers each subscription's updates in the last group of the
// price id (…-000000000001, …-000000000002, …). Prints CHECK lines and exits
// 0 when updates 1..<updates> each arrived once, in order.
import * as signalR from "@microsoft/signalr";

const [hubUrl, apiKey, baseUrl, countArg] = process.argv.slice(2);
const total = Number(countArg);
if (!hubUrl || !apiKey || !baseUrl || !(total > 1)) {
  console.error("usage: node stateful.mjs <hub url> <api key> <sandbox base url> <updates>");
  process.exit(2);
}
const deadline = setTimeout(() => {
  console.error("FAIL deadline exceeded");
  process.exit(1);
}, 60_000);
const check = (name, detail = "") => console.log(`CHECK ${name}${detail ? " " + detail : ""}`);

const connection = new signalR.HubConnectionBuilder()
  .withUrl(hubUrl, { accessTokenFactory: () => apiKey, transport: signalR.HttpTransportType.WebSockets })
  .withStatefulReconnect()
  .configureLogging(signalR.LogLevel.Warning)
  .build();
let reconnecting = false;
let stopping = false;
connection.onreconnecting(() => (reconnecting = true));
connection.onclose((err) => {
  if (stopping) return;
  console.error(`FAIL connection closed: ${err?.message ?? "no error"}`);
  process.exit(1);
});

let last = 0;
let dropped = false;
let finished;
const done = new Promise((resolve) => (finished = resolve));
connection.on("subscriptions", (raw) => {
  const env = typeof raw === "string" ? JSON.parse(raw) : raw;
  const data = typeof env.data === "string" ? JSON.parse(env.data) : env.data;
  const n = parseInt(data.id.slice(-12), 16);
  if (n !== last + 1) {
    console.error(`FAIL update ${n} after ${last}: ${n <= last ? "repeated" : "lost"}`);
    process.exit(1);
  }
  last = n;
  if (n === Math.floor(total / 2) && !dropped) {
    dropped = true;
    // Dropped while updates are in flight; the handler keeps counting.
    fetch(`${baseUrl}/_sandbox/faults/hub`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "drop", connectionId: connection.connectionId }),
    })
      .then((r) => r.json())
      .then((r) => {
        // The socket really was cut: the fault reached this connection.
        if (r.connections === 1) check("dropped", String(n));
        else finished(new Error(`fault reached ${r.connections} connections`));
      }, finished);
  }
  if (n === total) finished();
});

async function main() {
  await connection.start();
  const id = connection.connectionId;
  check("connected", id);
  await connection.invoke("SubscribePairPriceChannel", ["stateful", "BTCUSDT", 0.01]);
  const err = await done;
  if (err) throw err;
  if (!dropped) throw new Error("the drop was never injected");
  if (reconnecting) throw new Error("the drop surfaced as a reconnect");
  if (connection.connectionId !== id) throw new Error("the connection id changed");
  check("every-update-once", String(last));
  await connection.invoke("UnsubscribePairPriceChannel", ["stateful", "BTCUSDT", 0.01]);
  stopping = true;
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
