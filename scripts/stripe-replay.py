#!/usr/bin/env python3
"""Replay a sequence of signed Stripe events against a running server
(make run) and print the conversions and commissions they produced.

The events are the templates the Go tests use
(internal/stripeint/stripetest/events/*.json: real Stripe payload shapes),
filled in and signed exactly as Stripe signs them (Stripe-Signature:
t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the whsec_ secret>).

The sequence: the admin stores a webhook secret and creates a program paying
10 % on purchases and on renewals for 12 months, with a referrer; then
  1. an event with a bad signature (400, nothing recorded)
  2. checkout.session.completed carrying the referrer's code   → purchase
  3. the same event again (Stripe's retry)                       → duplicate
  4. invoice.paid, next billing cycle (API version basil)        → renewal
  5. invoice.paid, the cycle after (API version 2024-06-20)      → renewal
  6. charge.refunded of the first renewal's payment              → its commission reversed
  7. customer.created                                            → ignored
and waits for the commission pipeline before printing. When the server lets
webhook endpoints target loopback (WEBHOOK_ALLOW_PRIVATE=true), a receiver on
127.0.0.1 is registered as an outbound webhook endpoint for conversion.* and
commission.*; it checks each delivery's Standard Webhooks signature and the
script prints the events it received and the endpoint's delivery log.

Usage: scripts/stripe-replay.py [base-url]      (default http://localhost:3000)
Environment: BOOTSTRAP_ADMIN_EMAIL (default admin@example.com),
BOOTSTRAP_ADMIN_PASSWORD (required: the admin's password).
Needs only python3. Ends with "stripe replay: OK" when every step answered
as expected.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000").rstrip("/")
EMAIL = os.environ.get("BOOTSTRAP_ADMIN_EMAIL", "admin@example.com")
PASSWORD = os.environ.get("BOOTSTRAP_ADMIN_PASSWORD")
EVENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "internal", "stripeint", "stripetest", "events")
RUN = secrets.token_hex(3).upper()


def fail(msg):
    print("FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def call(method, path, token=None, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, {"raw": text}


def expect(what, got, want, body):
    if got != want:
        fail("%s: HTTP %s, want %s: %s" % (what, got, want, json.dumps(body)))


def event(name, created, **values):
    """The template name with each {{KEY}} replaced by the JSON of its value."""
    with open(os.path.join(EVENTS, name + ".json")) as f:
        text = f.read()
    values.setdefault("CREATED", created)
    values.setdefault("EVENT", "evt_replay_%s_%s" % (RUN, secrets.token_hex(4)))
    for k, v in values.items():
        quoted = '"{{%s}}"' % k
        if quoted in text:  # a string field of the template: the value goes inside the quotes
            text = text.replace(quoted, json.dumps(v))
        text = text.replace("{{%s}}" % k, json.dumps(v))
    if "{{" in text:
        fail("%s: a placeholder is left: %s" % (name, text[text.index("{{"):][:40]))
    return text.encode()


def sign(payload, secret, at=None):
    t = int(at if at is not None else time.time())
    mac = hmac.new(secret.encode(), b"%d." % t + payload, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A Standard Webhooks receiver: verifies the signature with the
    endpoint's secret, keeps each webhook-id once."""
    secret = None
    events = []
    seen = set()
    bad = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        wid, ts = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
        key = base64.b64decode(Receiver.secret[len("whsec_"):])
        want = "v1," + base64.b64encode(hmac.new(key, ("%s.%s." % (wid, ts)).encode() + body, hashlib.sha256).digest()).decode()
        with Receiver.lock:
            if want not in self.headers.get("webhook-signature", "").split():
                Receiver.bad += 1
                self.send_response(401)
            else:
                if wid not in Receiver.seen:
                    Receiver.seen.add(wid)
                    ev = json.loads(body)
                    Receiver.events.append((ev["type"], ev["data"].get("id", "")))
                self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver(token):
    """Registers a loopback receiver; None when the server refuses private targets."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/hooks" % srv.server_address[1]
    st, ep = call("POST", "/v1/webhooks", token, {"url": url, "events": ["conversion.*", "commission.*"], "description": "stripe replay"})
    if st != 201:
        print("outbound webhooks: not checked (%s %s; start the server with WEBHOOK_ALLOW_PRIVATE=true)" % (st, ep.get("code")))
        srv.shutdown()
        return None
    Receiver.secret = ep["secret"]
    print("outbound webhook endpoint: %s (%s)" % (url, ep["id"]))
    return ep


def main():
    if not PASSWORD:
        fail("set BOOTSTRAP_ADMIN_PASSWORD to the admin's password")
    st, login = call("POST", "/v1/auth/login", body={"email": EMAIL, "password": PASSWORD})
    expect("login", st, 200, login)
    token = login["token"]

    secret = "whsec_replay_" + secrets.token_hex(16)
    st, integ = call("PUT", "/v1/integrations/stripe", token, {"webhookSecret": secret})
    expect("PUT /v1/integrations/stripe", st, 200, integ)
    hook = urllib.parse.urlparse(integ["webhookUrl"]).path
    print("webhook: %s (secret stored, never shown again)" % integ["webhookUrl"])

    now = int(time.time())
    day = 86400
    st, prog = call("POST", "/v1/programs", token, {
        "name": "Stripe replay %s" % RUN, "landingUrl": "https://shop.example/", "currency": "USD",
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 120 * day)), "attributionWindowDays": 30,
        "qualifyingEvents": ["purchase"], "eligibility": {"newCustomersOnly": False, "allowSelfReferral": False},
        "commission": {"type": "percentage", "rateBps": 1000, "recurring": {"months": 12}}, "holdDays": 30})
    expect("create program", st, 201, prog)
    st, body = call("POST", "/v1/programs/%s/activate" % prog["id"], token)
    expect("activate", st, 200, body)
    code = "REPLAY-" + RUN
    st, ref = call("POST", "/v1/programs/%s/referrers" % prog["id"], token, {"email": "jane.%s@example.com" % RUN.lower(), "name": "Jane", "code": code})
    expect("create referrer", st, 201, ref)

    endpoint = start_receiver(token)
    customer, email = "cus_replay_" + RUN, "casey.%s@shop.example" % RUN.lower()
    first, cycle2, cycle3 = now - 60 * day, now - 30 * day, now - day

    def post(label, payload, sig, want_status, want_outcome=None):
        st, res = call("POST", hook, raw=payload, headers={"Stripe-Signature": sig})
        expect(label, st, want_status, res)
        if want_outcome and res.get("outcome") != want_outcome:
            fail("%s: outcome %s, want %s: %s" % (label, res.get("outcome"), want_outcome, json.dumps(res)))
        print("%-52s → %s %s" % (label, st, res.get("outcome") or res.get("code")) + ("" if not res.get("reason") else " (%s)" % res["reason"]))
        return res

    checkout = event("checkout.session.completed", first, SESSION="cs_replay_" + RUN, CLIENT_REFERENCE_ID=code, CUSTOMER=customer,
                     EMAIL=email, AMOUNT=4900, INVOICE=None, METADATA={}, MODE="payment", PAYMENT_INTENT="pi_replay_1_" + RUN, SUBSCRIPTION=None)
    post("1. checkout.session.completed, bad signature", checkout, sign(checkout, "whsec_not_the_secret"), 400)
    buy = post("2. checkout.session.completed (purchase 49.00)", checkout, sign(checkout, secret), 200, "recorded")
    post("3. the same event again (Stripe retries)", checkout, sign(checkout, secret), 200, "duplicate")
    p4 = event("invoice.paid", cycle2, INVOICE="in_replay_2_" + RUN, BILLING_REASON="subscription_cycle", CUSTOMER=customer,
               EMAIL=email, PAYMENT_INTENT="pi_replay_2_" + RUN, AMOUNT=4900, METADATA={})
    r1 = post("4. invoice.paid, next cycle (basil)", p4, sign(p4, secret), 200, "recorded")
    p5 = event("invoice.paid.2024-06-20", cycle3, INVOICE="in_replay_3_" + RUN, BILLING_REASON="subscription_cycle", CUSTOMER=customer,
               EMAIL=email, PAYMENT_INTENT="pi_replay_3_" + RUN, AMOUNT=5900, METADATA={})
    r2 = post("5. invoice.paid, the cycle after (2024-06-20)", p5, sign(p5, secret), 200, "recorded")
    p6 = event("charge.refunded", now, AMOUNT=4900, REFUNDED=4900, FULLY_REFUNDED=True, PAYMENT_INTENT="pi_replay_2_" + RUN,
               CUSTOMER=customer, EMAIL=email)
    post("6. charge.refunded of the first renewal", p6, sign(p6, secret), 200, "recorded")
    p7 = event("customer.created", now, CUSTOMER=customer, EMAIL=email)
    post("7. customer.created", p7, sign(p7, secret), 200, "ignored")

    # The commission pipeline runs in the background: wait for it.
    want = {buy["conversionId"]: ("pending", 490), r1["conversionId"]: ("reversed", 490), r2["conversionId"]: ("pending", 590)}
    deadline = time.time() + 30
    while True:
        st, comms = call("GET", "/v1/commissions?programId=%s&limit=200" % prog["id"], token)
        expect("list commissions", st, 200, comms)
        got = {c["conversionId"]: (c["status"], c["amount"]["amount"]) for c in comms["items"]}
        if got == want or time.time() > deadline:
            break
        time.sleep(0.2)

    st, convs = call("GET", "/v1/conversions?programId=%s&limit=200" % prog["id"], token)
    expect("list conversions", st, 200, convs)
    print("\nconversions:")
    print("  %-30s %-9s %-24s %10s %10s" % ("id", "event", "externalId", "amount", "refunded"))
    for c in sorted(convs["items"], key=lambda c: c["occurredAt"]):
        print("  %-30s %-9s %-24s %10.2f %10.2f" % (c["id"], c["event"], c["externalId"][:24], c["amount"]["amount"] / 100,
                                                   c["refundedAmount"]["amount"] / 100))
    print("\ncommissions:")
    print("  %-30s %-30s %-9s %10s" % ("id", "conversion", "status", "amount"))
    for c in comms["items"]:
        print("  %-30s %-30s %-9s %10.2f" % (c["id"], c["conversionId"], c["status"], c["amount"]["amount"] / 100))
    if len(convs["items"]) != 3:
        fail("%d conversions, want 3 (a purchase and two renewals)" % len(convs["items"]))
    if got != want:
        fail("commissions %s, want %s" % (got, want))
    if endpoint:
        check_webhooks(token, endpoint, convs["items"])
    print("\nstripe replay: OK")


def check_webhooks(token, endpoint, convs):
    """Waits for the events of the conversions and commissions and prints them."""
    ids = {c["id"] for c in convs}
    deadline = time.time() + 30
    while True:
        with Receiver.lock:
            got = list(Receiver.events)
        created = {s for t, s in got if t == "conversion.created"}
        if (ids <= created and any(t == "conversion.refunded" for t, _ in got) and
                any(t == "commission.reversed" for t, _ in got)) or time.time() > deadline:
            break
        time.sleep(0.2)
    print("\nwebhook events received (each webhook-id once, signature checked):")
    for t, subject in got:
        print("  %-22s %s" % (t, subject))
    st, log = call("GET", "/v1/webhooks/%s/deliveries?limit=200" % endpoint["id"], token)
    expect("delivery log", st, 200, log)
    print("delivery log: %d deliveries, %s" % (len(log["items"]),
          ", ".join(sorted({"%s %s" % (d["status"], d["attempts"][-1].get("statusCode", "-")) for d in log["items"] if d["attempts"]}))))
    if Receiver.bad:
        fail("%d webhook deliveries had no valid signature" % Receiver.bad)
    if not ids <= created:
        fail("conversion.created received for %s, want %s" % (sorted(created), sorted(ids)))
    if not any(t == "commission.reversed" for t, _ in got):
        fail("no commission.reversed event received")
    print("webhooks: OK")


if __name__ == "__main__":
    main()
