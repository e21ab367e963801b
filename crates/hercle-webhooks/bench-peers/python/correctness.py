"""The webhook contract's correctness pass (bench-contract.md, webhook):
twelve requests, each with the status both documentation samples give.

Usage: python correctness.py URL   (uses the test-only fixture keys)
Prints one line per case and exits non-zero on any mismatch.
"""
import base64, hashlib, json, sys, time, urllib.request, urllib.error
from pathlib import Path
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

FIX = Path(__file__).resolve().parents[4] / "fixtures" / "webhooks"
def key(name):
    return serialization.load_pem_private_key((FIX / f"test-only-{name}-private-pkcs8.pem").read_bytes(), None)
PRIMARY, WRONG = key("primary"), key("wrong")

def sign(k, ts, body, double=True):
    m = f"{ts}.".encode() + body
    data = hashlib.sha256(m).digest() if double else m
    return base64.b64encode(k.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()

def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code

def main(url):
    now = int(time.time())
    body = json.dumps({"EventId": "evt_c1", "EventType": "Banking.Deposit.StatusUpdated",
                       "Timestamp": "2025-01-15T14:30:00Z", "Data": "{}"}).encode()
    ok = sign(PRIMARY, now, body)
    corrupted = base64.b64encode(bytes([base64.b64decode(ok)[0] ^ 1]) + base64.b64decode(ok)[1:]).decode()
    cases = [
        ("valid", body, {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": ok}, 200),
        ("valid 4 minutes old", body, {"X-Webhook-Timestamp": str(now - 240),
                                       "X-Webhook-Signature": sign(PRIMARY, now - 240, body)}, 200),
        ("tampered body", body.replace(b"evt_c1", b"evt_c2"),
         {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": ok}, 400),
        ("another key", body, {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": sign(WRONG, now, body)}, 400),
        ("corrupted signature", body, {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": corrupted}, 400),
        ("non-base64 signature", body, {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": "not base64!!"}, 400),
        ("missing signature", body, {"X-Webhook-Timestamp": str(now)}, 400),
        ("10 minutes old", body, {"X-Webhook-Timestamp": str(now - 600),
                                  "X-Webhook-Signature": sign(PRIMARY, now - 600, body)}, 400),
        ("10 minutes ahead", body, {"X-Webhook-Timestamp": str(now + 600),
                                    "X-Webhook-Signature": sign(PRIMARY, now + 600, body)}, 400),
        ("missing timestamp", body, {"X-Webhook-Signature": ok}, 400),
        ("signed for another timestamp", body, {"X-Webhook-Timestamp": str(now - 1), "X-Webhook-Signature": ok}, 400),
        ("single-hash signature", body, {"X-Webhook-Timestamp": str(now),
                                         "X-Webhook-Signature": sign(PRIMARY, now, body, double=False)}, 400),
    ]
    bad = 0
    for name, b, h, want in cases:
        got = post(url, b, h)
        bad += got != want
        print(f"{'ok ' if got == want else 'BAD'} {name}: {got} (want {want})")
    print(f"correctness {url}: {len(cases) - bad}/{len(cases)}")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
