#!/usr/bin/env python3
"""An analytics session against a running server (make run, or make run-aws).

It sets the organization's time zone, creates two programs, a partner tier
and a partner, enrols referrers, follows their links (clicks), submits
referrals (one ineligible), records conversions, refunds one, and registers,
approves and wins a partner deal. It keeps its own hand count of what it did
and polls the analytics API until the summary, the top referrers and the
day series equal that count, printing them and how long the new events
took to show (the freshness of the rollups).

Everything it creates is new (random names), so it can run against a server
that already has data: it counts its own activity through filters on its
own programs and partner.

Usage: scripts/analytics-session.py [base-url]
       (BOOTSTRAP_ADMIN_EMAIL / BOOTSTRAP_ADMIN_PASSWORD: the admin)
Needs python3 (standard library only). Exit status 0 when every figure
matches the hand count.
"""

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000").rstrip("/")
EMAIL = os.environ.get("BOOTSTRAP_ADMIN_EMAIL", "admin@example.com")
PASSWORD = os.environ.get("BOOTSTRAP_ADMIN_PASSWORD") or sys.exit("set BOOTSTRAP_ADMIN_PASSWORD to the admin password")
ZONE = os.environ.get("ANALYTICS_ZONE", "America/New_York")
TIMEOUT = float(os.environ.get("ANALYTICS_TIMEOUT", "30"))  # seconds to wait for the rollups
RUN = str(random.randrange(10**8))


def call(method, path, token=None, body=None, headers=None, want=None):
    req = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if want is not None and status != want:
        sys.exit(f"FAILED: {method} {path}: HTTP {status}, want {want}: {raw[:500]!r}")
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)


def click(code, visitor):
    """Follows a referral link as a browser would (a visitor's own user agent)."""
    req = urllib.request.Request(BASE + "/r/" + code)
    req.add_header("User-Agent", f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 v{visitor}-{RUN}")
    try:
        opener.open(req)
    except urllib.error.HTTPError as e:
        if e.code != 302:
            sys.exit(f"FAILED: GET /r/{code}: HTTP {e.code}")


def money(amounts):
    return ", ".join(f"{m['amount'] / 100:,.2f} {m['currency']}" for m in amounts) or "—"


def main():
    _, login = call("POST", "/v1/auth/login", body={"email": EMAIL, "password": PASSWORD}, want=200)
    admin = login["token"]
    _, org = call("PATCH", "/v1/organization", admin, {"timeZone": ZONE}, want=200)
    print(f"organization {org['id']} reports in {org['timeZone']}")
    zone = ZoneInfo(ZONE)
    today = datetime.now(timezone.utc).astimezone(zone).date()

    _, tier = call("POST", "/v1/partner-tiers", admin, {"name": f"Gold {RUN}", "commission": {"type": "flat", "amount": 2500}}, want=201)
    _, partner = call("POST", "/v1/partners", admin, {"companyName": f"Acme Resellers {RUN}", "contactName": "Ann",
                                                      "email": f"ann.{RUN}@acme.example", "tierId": tier["id"]}, want=201)
    program = {"landingUrl": "https://example.com/pricing", "currency": "USD",
               "startsAt": (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "attributionWindowDays": 30, "qualifyingEvents": ["signup", "purchase"],
               "eligibility": {"newCustomersOnly": True, "allowSelfReferral": False},
               "commission": {"type": "percentage", "rateBps": 1000}, "holdDays": 30}
    progs = []
    for name in ("Spring", "Summer"):
        _, p = call("POST", "/v1/programs", admin, dict(program, name=f"{name} {RUN}"), want=201)
        call("POST", f"/v1/programs/{p['id']}/activate", admin, want=200)
        progs.append(p)
    ref = {}
    for key, prog, extra in (("jane", progs[0], {}), ("sam", progs[1], {}), ("agent", progs[0], {"partnerId": partner["id"]})):
        _, r = call("POST", f"/v1/programs/{prog['id']}/referrers", admin,
                    dict({"email": f"{key}.{RUN}@example.com", "name": f"{key.title()} {RUN}"}, **extra), want=201)
        ref[key] = r

    # The hand count, per referrer: what this session does.
    count = {k: {"clicks": 0, "referrals": 0, "converted": 0, "conversions": 0, "revenue": 0, "commission": 0} for k in ref}
    deal = {"registered": 0, "won": 0, "value": 0, "commission": 0}

    # Clicks: each visitor counts once per hour; at most 10 per address and
    # link, so every link here gets fewer.
    for key, visitors in (("jane", [1, 2, 3, 4]), ("sam", [1, 2, 3, 3]), ("agent", [1, 2])):
        for v in visitors:
            click(ref[key]["code"], v)
        count[key]["clicks"] += len(set(visitors))

    # Referrals; one is the referrer itself (ineligible, still submitted).
    referrals = {}
    for key, who in (("jane", "amy"), ("jane", "bob"), ("jane", "cat"), ("sam", "dan"), ("agent", "eve"), ("agent", "self")):
        email = ref[key]["email"] if who == "self" else f"{who}.{RUN}@customers.example"
        _, r = call("POST", "/v1/referrals", admin, {"code": ref[key]["code"], "email": email}, want=201)
        referrals[(key, who)] = r
        count[key]["referrals"] += 1
    assert referrals[("agent", "self")]["status"] == "ineligible", referrals[("agent", "self")]

    # Conversions: purchases of 100.00 and 50.00 through Jane, 200.00 through
    # the partner's link; a signup (no value) through Sam.
    conversions = {}
    for (key, who), amount, event in (((("jane", "amy")), 10000, "purchase"), (("jane", "bob"), 5000, "purchase"),
                                      (("agent", "eve"), 20000, "purchase"), (("sam", "dan"), 0, "signup")):
        body = {"referralId": referrals[(key, who)]["id"], "event": event, "externalId": f"order-{RUN}-{who}"}
        if amount:
            body["amount"] = {"amount": amount, "currency": "USD"}
        _, c = call("POST", "/v1/conversions", admin, body, want=201)
        conversions[(key, who)] = c
        count[key]["conversions"] += 1
        count[key]["converted"] += 1
        count[key]["revenue"] += amount
        # Commissions: 10 % of the program for Jane; the partner's tier pays
        # 25.00 flat; a signup earns no percentage.
        count[key]["commission"] += 2500 if key == "agent" else amount // 10
    # A refund of 20.00 of Amy's 100.00: revenue falls by 20.00, and her
    # 10.00 commission is reversed and replaced by 8.00.
    call("POST", f"/v1/conversions/{conversions[('jane', 'amy')]['id']}/refund", admin, {"amount": 2000}, want=200)
    count["jane"]["revenue"] -= 2000
    count["jane"]["commission"] -= 200

    # A partner deal, registered, approved and won at 5,000.00 (the tier's
    # flat 25.00 for the partner).
    _, d = call("POST", "/v1/deals", admin, {"customerName": f"Globex {RUN}", "customerDomain": f"globex-{RUN}.example",
                                             "value": 600000, "partnerId": partner["id"]}, want=201)
    call("POST", f"/v1/deals/{d['id']}/approve", admin, want=200)
    call("POST", f"/v1/deals/{d['id']}/won", admin, {"value": 500000}, want=200)
    deal.update(registered=1, won=1, value=500000, commission=2500)
    last_event = time.monotonic()

    total = {f: sum(c[f] for c in count.values()) for f in ("clicks", "referrals", "converted", "conversions", "revenue", "commission")}
    partner_count = count["agent"]
    want_summary = {
        "clicks": total["clicks"], "totalReferrals": total["referrals"], "convertedReferrals": total["converted"],
        "conversions": total["conversions"], "revenue": total["revenue"],
        "commission": total["commission"] + deal["commission"],
        "partnerContribution.dealsRegistered": deal["registered"], "partnerContribution.dealCount": deal["won"],
        "partnerContribution.dealValue": deal["value"], "partnerContribution.conversions": partner_count["conversions"],
        "partnerContribution.revenue": partner_count["revenue"],
    }
    week = f"from={today - timedelta(days=6)}&to={today}"

    def usd(amounts):
        return sum(m["amount"] for m in amounts if m["currency"] == "USD")

    def observed():
        # This session's own activity: its two programs, plus the partner's deal.
        got = {k: 0 for k in want_summary}
        for p in progs:
            status, s = call("GET", f"/v1/analytics/summary?{week}&programId={p['id']}", admin)
            if status == 503:  # the rollups are being built (a new installation, a new zone)
                return None
            if status != 200:
                sys.exit(f"FAILED: GET /v1/analytics/summary: HTTP {status}: {s}")
            got["clicks"] += s["clicks"]
            got["totalReferrals"] += s["totalReferrals"]
            got["convertedReferrals"] += s["convertedReferrals"]
            got["conversions"] += s["conversions"]
            got["revenue"] += usd(s["revenue"])
            got["commission"] += usd(s["commission"])
            got["partnerContribution.conversions"] += s["partnerContribution"]["conversions"]
            got["partnerContribution.revenue"] += usd(s["partnerContribution"]["revenue"])
        _, s = call("GET", f"/v1/analytics/summary?{week}&partnerId={partner['id']}", admin, want=200)
        got["partnerContribution.dealsRegistered"] = s["partnerContribution"]["dealsRegistered"]
        got["partnerContribution.dealCount"] = s["partnerContribution"]["dealCount"]
        got["partnerContribution.dealValue"] = usd(s["partnerContribution"]["dealValue"])
        got["commission"] += usd(s["commission"]) - partner_count["commission"]  # the deal's (the link's is in its program)
        return got

    deadline = time.monotonic() + TIMEOUT
    while True:
        got = observed()
        if got == want_summary:
            break
        if time.monotonic() > deadline:
            if got is None:
                sys.exit(f"FAILED: the analytics were not ready within {TIMEOUT:.0f} s")
            for k in want_summary:
                mark = "" if got[k] == want_summary[k] else "   <-- differs"
                print(f"  {k:40} got {got[k]:>10}  hand count {want_summary[k]:>10}{mark}")
            sys.exit(f"FAILED: the analytics did not reach the hand count within {TIMEOUT:.0f} s")
        time.sleep(0.25)
    fresh = time.monotonic() - last_event
    print(f"\nnew events showed in the reports {fresh:.1f} s after the last one")

    print(f"\n$ GET /v1/analytics/summary?{week}&programId=<spring>  (and summer, and the partner)")
    for k, v in want_summary.items():
        shown = f"{v / 100:,.2f} USD" if k in ("revenue", "commission", "partnerContribution.dealValue", "partnerContribution.revenue") else v
        print(f"  {k:40} {shown}   = hand count")
    rate = round(total["converted"] / total["referrals"], 4)
    _, s = call("GET", f"/v1/analytics/summary?{week}&programId={progs[0]['id']}&compare=previous", admin, want=200)
    print(f"  Spring conversionRate {s['conversionRate']} (previous week {s['previous']['conversionRate']}), asOf {s['asOf']}, {s['timeZone']}")
    spring = [k for k in ref if ref[k]["programId"] == progs[0]["id"]]
    spring_rate = round(sum(count[k]["converted"] for k in spring) / sum(count[k]["referrals"] for k in spring), 4)
    if s["conversionRate"] != spring_rate:
        sys.exit(f"FAILED: Spring conversionRate {s['conversionRate']}, hand count {spring_rate}")

    print(f"\n$ GET /v1/analytics/top-referrers?{week}&programId=<spring>&by=revenue")
    _, top = call("GET", f"/v1/analytics/top-referrers?{week}&programId={progs[0]['id']}&by=revenue", admin, want=200)
    for row in top["items"]:
        key = next(k for k in ref if ref[k]["id"] == row["referrerId"])
        c = count[key]
        print(f"  {row['name']:22} clicks {row['clicks']:>3}  referrals {row['referrals']:>3}  conversions {row['conversions']:>3}  "
              f"revenue {money(row['revenue']):>14}  commission {money(row['commission'])}")
        if (row["clicks"], row["referrals"], row["conversions"], usd(row["revenue"])) != (c["clicks"], c["referrals"], c["conversions"], c["revenue"]):
            sys.exit(f"FAILED: top referrer {row['name']} differs from the hand count {c}")
    if [r["referrerId"] for r in top["items"]] != [ref["agent"]["id"], ref["jane"]["id"]]:
        sys.exit("FAILED: top referrers by revenue are not agent (200.00) then jane (130.00)")

    print(f"\n$ GET /v1/analytics/timeseries?{week}&interval=day&programId=<spring>")
    _, series = call("GET", f"/v1/analytics/timeseries?{week}&interval=day&programId={progs[0]['id']}", admin, want=200)
    for p in series["points"]:
        print(f"  {p['start']}  clicks {p['clicks']:>3}  referrals {p['referrals']:>3}  conversions {p['conversions']:>3}  revenue {money(p['revenue'])}")
    last = series["points"][-1]
    want_today = (sum(count[k]["clicks"] for k in spring), sum(count[k]["referrals"] for k in spring), sum(count[k]["conversions"] for k in spring))
    if len(series["points"]) != 7 or (last["clicks"], last["referrals"], last["conversions"]) != want_today:
        sys.exit(f"FAILED: the day series ends {last}, hand count for today {want_today}")
    if any(p["clicks"] or p["referrals"] or p["conversions"] for p in series["points"][:-1]):
        sys.exit("FAILED: days before today have activity this session did not make")

    _, csv = call("GET", f"/v1/analytics/summary.csv?{week}&programId={progs[0]['id']}", admin, want=200)
    print("\n$ GET /v1/analytics/summary.csv (first lines)\n  " + "\n  ".join(csv.splitlines()[:4]))
    print("\nanalytics session: OK")


main()
