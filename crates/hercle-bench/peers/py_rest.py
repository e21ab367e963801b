"""Python peers doing the contract's REST loop: `httpx` (asyncio, N tasks on
one AsyncClient) or `requests` (one Session per thread, N threads)."""
import asyncio, json, os, resource, struct, sys, threading, time

env = os.environ
base, key = env["HERCLE_BASE_URL"], env["HERCLE_API_KEY"]
conc = int(env.get("BENCH_CONCURRENCY", "1"))
warmup, dur = float(env.get("BENCH_WARMUP_S", "1")), float(env.get("BENCH_DURATION_S", "5"))
max_req = int(env.get("BENCH_MAX_REQUESTS", str(10**12)))
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
lib = sys.argv[1]
state = {"requests": 0, "errors": 0, "cpu0": None, "t0": None}
lat = []
lock = threading.Lock()
start = time.monotonic()
frm, stop = start + warmup, start + warmup + dur


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def check(i, status, body):
    if status != 200:
        return False
    if i % 2 == 0:
        return isinstance(body, list) and body[0]["name"] == "BTCUSDT"
    return isinstance(body.get("userId"), str) and len(body["assets"]) == 2


def record(now, counted, ok, l):
    with lock:
        if counted:
            state["requests"] += 1
            state["errors"] += 0 if ok else 1
            lat.append(int(l * 1e9))


def begin(now):
    counted = now >= frm
    if counted and state["cpu0"] is None:
        with lock:
            if state["cpu0"] is None:
                state["cpu0"], state["t0"] = cpu(), now
    return counted


def path(i):
    return "/api/v1/pairs" if i % 2 == 0 else "/api/v1/user/balances"


def run_requests():
    import requests

    def worker(i):
        s = requests.Session()
        while True:
            now = time.monotonic()
            if now >= stop or state["requests"] >= max_req:
                return
            counted = begin(now)
            a = time.monotonic()
            try:
                r = s.get(base + path(i), headers=headers)
                ok = check(i, r.status_code, r.json())
            except Exception:
                ok = False
            record(now, counted, ok, time.monotonic() - a)
            i += 1

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return f"requests {requests.__version__}"


def run_httpx():
    import httpx

    async def main():
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        async with httpx.AsyncClient(limits=limits) as c:
            async def worker(i):
                while True:
                    now = time.monotonic()
                    if now >= stop or state["requests"] >= max_req:
                        return
                    counted = begin(now)
                    a = time.monotonic()
                    try:
                        r = await c.get(base + path(i), headers=headers)
                        ok = check(i, r.status_code, r.json())
                    except Exception:
                        ok = False
                    record(now, counted, ok, time.monotonic() - a)
                    i += 1
            await asyncio.gather(*(worker(i) for i in range(conc)))

    asyncio.run(main())
    return f"httpx {httpx.__version__}"


library = run_httpx() if lib == "httpx" else run_requests()
end = time.monotonic()
secs = end - (state["t0"] or end)
used = cpu() - (state["cpu0"] or cpu())
if env.get("BENCH_LAT_FILE"):
    with open(env["BENCH_LAT_FILE"], "wb") as f:
        f.write(struct.pack(f"<{len(lat)}q", *lat))
n = state["requests"]
print(json.dumps({
    "contestant": f"python-{lib}", "kind": "rest", "library": library,
    "runtime": f"python {sys.version.split()[0]}", "concurrency": conc,
    "requests": n, "errors": state["errors"], "duration_s": secs,
    "req_per_s": n / secs if secs else 0, "cpu_s": used,
    "cpu_us_per_req": used * 1e6 / n if n else 0, "lat_samples": len(lat),
}))
