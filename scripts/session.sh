#!/usr/bin/env bash
# The README's curl session against a running server (make run):
# login → program → activate → referrer → follow the link → referral →
# the same conversion twice → the referral shows "converted".
# Usage: scripts/session.sh [base-url]   (needs curl and python3 or jq)
set -euo pipefail
B=${1:-http://localhost:3000}
EMAIL=${BOOTSTRAP_ADMIN_EMAIL:-admin@example.com}
PASSWORD=${BOOTSTRAP_ADMIN_PASSWORD:?set BOOTSTRAP_ADMIN_PASSWORD to the admin password}
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say "POST /v1/auth/login"
TOKEN=$(curl -sf "$B/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | json '["token"]')
echo "token: ${TOKEN:0:12}…"
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

say "POST /v1/programs"
PROGRAM=$(curl -sf "$B/v1/programs" "${AUTH[@]}" -d '{
  "name": "Spring referral", "landingUrl": "https://example.com/pricing", "currency": "USD",
  "startsAt": "2026-01-01T00:00:00Z", "attributionWindowDays": 30,
  "qualifyingEvents": ["signup", "purchase"],
  "eligibility": {"newCustomersOnly": true, "allowSelfReferral": false},
  "commission": {"type": "percentage", "rateBps": 1000}, "holdDays": 30}' | json '["id"]')
echo "program: $PROGRAM"

say "POST /v1/programs/$PROGRAM/activate"
curl -sf -X POST "$B/v1/programs/$PROGRAM/activate" "${AUTH[@]}" | json '["status"]'

say "POST /v1/programs/$PROGRAM/referrers"
REFERRER=$(curl -sf "$B/v1/programs/$PROGRAM/referrers" "${AUTH[@]}" \
  -d "{\"email\":\"jane.$RANDOM@example.com\",\"name\":\"Jane Doe\"}")
CODE=$(echo "$REFERRER" | json '["code"]')
echo "code: $CODE  link: $(echo "$REFERRER" | json '["link"]')"

say "GET /r/$CODE"
curl -s -o /dev/null -D - "$B/r/$CODE" -A 'Mozilla/5.0 (X11; Linux x86_64)' | grep -iE '^(HTTP|location|set-cookie)'

say "POST /v1/referrals"
FRIEND="friend.$RANDOM@example.org"
REFERRAL=$(curl -sf "$B/v1/referrals" "${AUTH[@]}" -d "{\"code\":\"$CODE\",\"email\":\"$FRIEND\",\"name\":\"A Friend\"}")
REFERRAL_ID=$(echo "$REFERRAL" | json '["id"]')
echo "referral: $REFERRAL_ID status: $(echo "$REFERRAL" | json '["status"]')"

ORDER="order-$RANDOM$RANDOM"
for i in 1 2; do
  say "POST /v1/conversions (externalId $ORDER, attempt $i)"
  curl -s -w '  → HTTP %{http_code}\n' "$B/v1/conversions" "${AUTH[@]}" \
    -d "{\"referralId\":\"$REFERRAL_ID\",\"event\":\"purchase\",\"amount\":{\"amount\":4999,\"currency\":\"USD\"},\"externalId\":\"$ORDER\"}"
done

say "GET /v1/conversions?referralId=$REFERRAL_ID"
curl -sf "$B/v1/conversions?referralId=$REFERRAL_ID" "${AUTH[@]}" | json '["items"].__len__()' | sed 's/^/conversions recorded: /'

say "GET /v1/referrals/$REFERRAL_ID"
curl -sf "$B/v1/referrals/$REFERRAL_ID" "${AUTH[@]}" | json '["status"]'

say "GET /v1/commissions (the pipeline prices the conversion a moment later)"
for i in $(seq 1 50); do
  N=$(curl -sf "$B/v1/commissions?programId=$PROGRAM" "${AUTH[@]}" | json '["items"].__len__()')
  [ "$N" -ge 1 ] && break
  sleep 0.2
done
curl -sf "$B/v1/commissions?programId=$PROGRAM" "${AUTH[@]}" | python3 -c '
import sys, json
for c in json.load(sys.stdin)["items"]:
    print(c["kind"], c["status"], c["amount"]["amount"], c["amount"]["currency"], "available", c["availableAt"])'
