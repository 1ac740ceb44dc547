#!/usr/bin/env bash
# The partner flow against a running server (make run, or make run-aws):
# admin creates a tier and a partner → sends the invitation → the email is
# read from the local mailbox (embedded) or from aws-ses-v2-local (AWS-local)
# → its link opens the accept page → accepting sets a password → the partner
# signs in, registers a deal and sees only its own data → the admin approves
# the deal and marks it won → the commission appears → a re-sent invitation
# invalidates the old link, and revoking access ends the partner's session.
#
# Usage: scripts/partner-flow.sh [base-url] [mail-url]
#   mail-url: where sent mail is listed; default <base-url>/_dev/mail.json
#             (embedded mode without SMTP: the development mailbox, read
#             with the admin's token). In AWS-local mode pass
#             aws-ses-v2-local's store, e.g. http://127.0.0.1:PORT/store
#             (make run-aws prints it).
# Needs curl and python3.
set -euo pipefail
B=${1:-http://localhost:3000}
MAIL=${2:-$B/_dev/mail.json}
EMAIL=${BOOTSTRAP_ADMIN_EMAIL:-admin@example.com}
PASSWORD=${BOOTSTRAP_ADMIN_PASSWORD:?set BOOTSTRAP_ADMIN_PASSWORD to the admin password}
RUN=$RANDOM$RANDOM
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# call METHOD PATH TOKEN [BODY] → prints the body; the status goes to $STATUS_FILE.
STATUS_FILE=$(mktemp)
trap 'rm -f "$STATUS_FILE"' EXIT
call() {
  local method=$1 path=$2 token=$3 body=${4:-}
  local args=(-s -X "$method" "$B$path" -H 'Content-Type: application/json' -w '\n%{http_code}')
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-d "$body")
  local out
  out=$(curl "${args[@]}")
  echo "${out##*$'\n'}" >"$STATUS_FILE"
  echo "${out%$'\n'*}"
}
status() { cat "$STATUS_FILE"; }
expect() { # expect STATUS what
  local got; got=$(status)
  [ "$got" = "$1" ] || fail "$2: HTTP $got, want $1"
  echo "  → HTTP $got ($2)"
}

# invitation_token ADDRESS: the token of the newest invitation to ADDRESS.
# The development mailbox is for admins only; the admin's token goes to
# this server, never to another mail-url.
invitation_token() {
  local auth=()
  [ "$MAIL" = "$B/_dev/mail.json" ] && auth=(-H "Authorization: Bearer $ADMIN")
  curl -sf "${auth[@]}" "$MAIL" | python3 -c '
import sys, json, re
to = sys.argv[1]
d = json.load(sys.stdin)
if "emails" in d:   # aws-ses-v2-local: oldest first
    mails = [{"to": ",".join(m["destination"]["to"]), "text": m["body"].get("text") or "", "at": m.get("at", 0)} for m in d["emails"]]
    mails.sort(key=lambda m: m["at"], reverse=True)
else:               # the embedded mailbox: newest first
    mails = d["items"]
for m in mails:
    if to in m["to"]:
        link = re.search(r"https?://\S+/accept-invitation\?token=([A-Za-z0-9_\-]+)", m["text"])
        if link:
            print(link.group(1)); sys.exit(0)
sys.exit("no invitation mail to " + to)
' "$1"
}

say "POST /v1/auth/login (admin)"
ADMIN=$(call POST /v1/auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | json '["token"]')
expect 200 "admin signed in"

say "POST /v1/partner-tiers"
TIER=$(call POST /v1/partner-tiers "$ADMIN" '{"name":"Gold '"$RUN"'","commission":{"type":"percentage","rateBps":1000},"holdDays":0}' | json '["id"]')
expect 201 "tier $TIER"

say "POST /v1/partners (A and B)"
PA_EMAIL="alice.$RUN@partners.example"
PA=$(call POST /v1/partners "$ADMIN" '{"companyName":"Acme Resellers","contactName":"Alice","email":"'"$PA_EMAIL"'","tierId":"'"$TIER"'","agreements":[{"name":"Reseller agreement","signedAt":"2026-01-15T00:00:00Z"}]}' | json '["id"]')
expect 201 "partner A $PA"
PB_EMAIL="bob.$RUN@partners.example"
PB=$(call POST /v1/partners "$ADMIN" '{"companyName":"Bobs Agency","contactName":"Bob","email":"'"$PB_EMAIL"'","tierId":"'"$TIER"'","agreements":[]}' | json '["id"]')
expect 201 "partner B $PB"

if [ "$MAIL" = "$B/_dev/mail.json" ]; then
  say "GET /_dev/mail.json without credentials (the development mailbox holds sign-in links)"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$MAIL")
  [ "$code" = 401 ] || fail "the development mailbox answered $code to an anonymous caller"
  echo "  → HTTP 401 (admins only)"
fi

say "POST /v1/partners/$PA/invitation"
call POST "/v1/partners/$PA/invitation" "$ADMIN" '{}' >/dev/null
expect 200 "invitation sent"
sleep 0.5
TOKEN1=$(invitation_token "$PA_EMAIL")
echo "  link: $B/accept-invitation?token=${TOKEN1:0:8}…"

say "GET /accept-invitation?token=… (the link in the email)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/accept-invitation?token=$TOKEN1")
[ "$code" = 200 ] || fail "the accept page answered $code"
echo "  → HTTP 200 (the page that sets the password)"

say "POST /v1/invitations/accept (weak password first)"
call POST /v1/invitations/accept "" '{"token":"'"$TOKEN1"'","password":"password1234"}' >/dev/null
expect 422 "an obvious password is refused"
PA_PASSWORD="correct horse battery $RUN"
PA_TOKEN=$(call POST /v1/invitations/accept "" '{"token":"'"$TOKEN1"'","password":"'"$PA_PASSWORD"'"}' | json '["token"]')
expect 200 "password set, partner signed in"
call POST /v1/invitations/accept "" '{"token":"'"$TOKEN1"'","password":"'"$PA_PASSWORD"'"}' >/dev/null
expect 410 "the same link again"

say "POST /v1/auth/login (partner A)"
PA_TOKEN=$(call POST /v1/auth/login "" '{"email":"'"$PA_EMAIL"'","password":"'"$PA_PASSWORD"'"}' | json '["token"]')
expect 200 "partner A signed in with the new password"
call GET /v1/me "$PA_TOKEN" | json '["role"]'

say "POST /v1/deals (a direct deal, and one for partner B)"
call POST /v1/deals "$ADMIN" '{"customerName":"Globex","customerDomain":"https://www.globex-'"$RUN"'.example/about","value":{"amount":1200000,"currency":"USD"}}' >/dev/null
expect 201 "direct deal"
BDEAL=$(call POST /v1/deals "$ADMIN" '{"customerName":"Initech","customerDomain":"initech-'"$RUN"'.example","value":500000,"partnerId":"'"$PB"'"}' | json '["id"]')
expect 201 "partner B's deal $BDEAL"

say "POST /v1/portal/deals (partner A registers a deal)"
DEAL=$(call POST /v1/portal/deals "$PA_TOKEN" '{"customerName":"Umbrella Corp","customerDomain":"WWW.Umbrella-'"$RUN"'.example","value":{"amount":900000,"currency":"USD"}}' | json '["id"]')
expect 201 "deal $DEAL"
call POST /v1/portal/deals "$PA_TOKEN" '{"customerName":"Umbrella","customerDomain":"umbrella-'"$RUN"'.example","value":100}' >/dev/null
expect 409 "the same domain twice"
call POST /v1/portal/deals "$PA_TOKEN" '{"customerName":"Globex","customerDomain":"globex-'"$RUN"'.example","value":100}' | json '["status"]'
expect 201 "a domain the organization already works on is registered as a conflict"

say "partner A sees only its own data"
for path in /v1/portal/summary /v1/portal/links /v1/portal/referrals /v1/portal/deals /v1/portal/commissions; do
  body=$(call GET "$path" "$PA_TOKEN")
  expect 200 "$path"
  case "$body" in *"$PB"*|*"$BDEAL"*) fail "$path shows partner B's data";; esac
done
call GET "/v1/deals/$BDEAL" "$PA_TOKEN" >/dev/null
expect 403 "partner A on an admin route"
call GET "/v1/partners/$PB" "$PA_TOKEN" >/dev/null
expect 403 "partner A on another partner's profile"

say "POST /v1/deals/$DEAL/approve, then /won"
call POST "/v1/deals/$DEAL/approve" "$ADMIN" '{}' | json '["status"]'
expect 200 "approved"
call POST "/v1/deals/$DEAL/won" "$ADMIN" '{"value":{"amount":1000000,"currency":"USD"}}' | json '["status"]'
expect 200 "won"

say "GET /v1/commissions?partnerId=$PA (the pipeline prices the won deal)"
for i in $(seq 1 40); do
  n=$(call GET "/v1/commissions?partnerId=$PA" "$ADMIN" | json '["items"].__len__()')
  [ "$n" -ge 1 ] && break
  sleep 0.25
done
[ "$n" -ge 1 ] || fail "no commission for the won deal"
call GET "/v1/commissions?partnerId=$PA" "$ADMIN" | python3 -c 'import sys,json; c=json.load(sys.stdin)["items"][0]; print("  commission", c["id"], c["amount"], c["status"], "deal", c.get("dealId"))'
call GET /v1/portal/commissions "$PA_TOKEN" | json '["items"].__len__()'

say "POST /v1/partners/$PB/invitation twice: the first link stops working"
call POST "/v1/partners/$PB/invitation" "$ADMIN" '{}' >/dev/null; expect 200 "first invitation"
sleep 0.5; OLD=$(invitation_token "$PB_EMAIL")
sleep 1.1 # mail listings order by second
call POST "/v1/partners/$PB/invitation" "$ADMIN" '{}' >/dev/null; expect 200 "re-sent"
sleep 0.5; NEW=$(invitation_token "$PB_EMAIL")
[ "$OLD" != "$NEW" ] || fail "the re-sent invitation has the same link"
call POST /v1/invitations/accept "" '{"token":"'"$OLD"'","password":"a fine long passphrase '"$RUN"'"}' >/dev/null
expect 410 "the old link after re-sending"

say "DELETE /v1/partners/$PA/portal-access"
call DELETE "/v1/partners/$PA/portal-access" "$ADMIN" >/dev/null
expect 204 "revoked"
call GET /v1/portal/summary "$PA_TOKEN" >/dev/null
expect 401 "partner A's session ended at once"
call POST /v1/auth/login "" '{"email":"'"$PA_EMAIL"'","password":"'"$PA_PASSWORD"'"}' >/dev/null
expect 401 "partner A cannot sign in"

say "DELETE /v1/partners/$PB/portal-access: the outstanding link dies too"
call DELETE "/v1/partners/$PB/portal-access" "$ADMIN" >/dev/null
expect 204 "revoked"
call POST /v1/invitations/accept "" '{"token":"'"$NEW"'","password":"a fine long passphrase '"$RUN"'"}' >/dev/null
expect 410 "a revoked invitation"

printf '\n\033[1mpartner flow: OK\033[0m\n'
