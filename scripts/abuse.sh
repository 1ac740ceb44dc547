#!/usr/bin/env bash
# Repeats the four attacks of issue 11 against a running server on this
# machine and prints, per attack, what was expected and what it got:
#
#   1. anonymous GET /_dev/mail.json (invitation links)   → 401
#   2. 11 conversions of 9223372036854775807 minor units   → 422 each
#   3. 50 failed logins for the admin from 127.0.0.1, then
#      the admin's own login from 127.0.0.2               → 200
#   4. 100 browsers from one address on one link, and
#      automation clients (curl, HeadlessChrome, ...)      → ≤ 10 and 0 counted, every request 302
#
# Usage: scripts/abuse.sh [base-url] [attack...]   (default http://127.0.0.1:3000, all four)
#   BOOTSTRAP_ADMIN_EMAIL (default admin@example.com) and BOOTSTRAP_ADMIN_PASSWORD
#   sign in the admin. It writes (a program, referrals, conversions, clicks)
#   and locks the admin's login out for a while, so it refuses every base URL
#   that is not a loopback address. Every loop is bounded, every request has
#   a timeout. Exit status: 0 when every attack run got what was expected.
# Needs curl and python3. Attack 3 tells two addresses apart by binding curl
# to 127.0.0.1 and 127.0.0.2 (--interface): the whole of 127/8 is loopback.
set -euo pipefail

B=${1:-http://127.0.0.1:3000}
shift || true
ATTACKS=("$@")
[ ${#ATTACKS[@]} -gt 0 ] || ATTACKS=(1 2 3 4)

# Loopback only: an IPv4 loopback address (or localhost, taken as
# 127.0.0.1), since attack 3 needs a second loopback address to come from.
if [[ ! $B =~ ^(https?)://([^/:]+)(:[0-9]+)?/?$ ]]; then
	echo "abuse.sh: $B is not a base URL like http://127.0.0.1:3000" >&2
	exit 2
fi
scheme=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]} port=${BASH_REMATCH[3]}
[ "$host" = localhost ] && host=127.0.0.1
if [[ ! $host =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
	echo "abuse.sh: refusing $B: it attacks only a server on this machine's IPv4 loopback (127.0.0.0/8)" >&2
	exit 2
fi
B=$scheme://$host$port
EMAIL=${BOOTSTRAP_ADMIN_EMAIL:-admin@example.com}
PASSWORD=${BOOTSTRAP_ADMIN_PASSWORD:?set BOOTSTRAP_ADMIN_PASSWORD to the admin password}
RUN=$RANDOM$RANDOM

# req [curl options...] → prints "STATUS BODY" of one bounded request.
req() {
	local out
	out=$(curl -sS --max-time 20 -o - -w '\n%{http_code}' "$@") || out=$'\n000'
	printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
status() { cut -d' ' -f1 <<<"$1"; }
body() { cut -d' ' -f2- <<<"$1"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
# call METHOD PATH TOKEN [BODY] (from 127.0.0.1)
call() {
	local args=(--interface 127.0.0.1 -X "$1" "$B$2" -H 'Content-Type: application/json')
	[ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
	[ -n "${4:-}" ] && args+=(-d "$4")
	req "${args[@]}"
}
need() { # need WANT-STATUS RESPONSE WHAT
	if [ "$(status "$2")" != "$1" ]; then
		echo "abuse.sh: setup failed: $3: HTTP $(status "$2"): $(body "$2")" >&2
		exit 2
	fi
}
# counts STATUS... → "3×401 2×429"
counts() { printf '%s\n' "$@" | sort | uniq -c | awk '{printf "%s%s×%s", sep, $1, $2; sep=" "} END {print ""}'; }

failed=0
report() { # report N WHAT EXPECTED GOT OK
	local verdict=ok
	[ "$5" = true ] || { verdict=FAIL; failed=1; }
	printf 'attack %s — %s: expected %s; got %s — %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
wants() { [[ " ${ATTACKS[*]} " == *" $1 "* ]]; }

# Setup, before attack 3 locks anything: the admin's token, a live program
# and a referrer with its link.
r=$(call POST /v1/auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
need 200 "$r" "admin sign-in"
TOKEN=$(body "$r" | json '["token"]')
if wants 2 || wants 4; then
	r=$(call POST /v1/programs "$TOKEN" '{"name":"Abuse '"$RUN"'","landingUrl":"https://example.com/","currency":"USD",
		"startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["purchase"],
		"commission":{"type":"percentage","rateBps":1000}}')
	need 201 "$r" "create a program"
	PROGRAM=$(body "$r" | json '["id"]')
	need 200 "$(call POST "/v1/programs/$PROGRAM/activate" "$TOKEN")" "activate the program"
	r=$(call POST "/v1/programs/$PROGRAM/referrers" "$TOKEN" '{"email":"abuse.'"$RUN"'@example.com","name":"Abuse"}')
	need 201 "$r" "enrol a referrer"
	REFERRER=$(body "$r" | json '["id"]')
	CODE=$(body "$r" | json '["code"]')
fi
clicks() { body "$(call GET "/v1/referrers/$REFERRER" "$TOKEN")" | json '["clicks"]'; }

if wants 1; then
	r=$(req --interface 127.0.0.1 "$B/_dev/mail.json")
	got=$(status "$r")
	ok=false
	# 404 too: with a real mailer configured there is no development mailbox.
	[[ $got == 401 || $got == 404 ]] && ok=true
	report 1 "anonymous GET /_dev/mail.json" "401 (404 with a real mailer)" "$got" $ok
fi

if wants 2; then
	got=()
	for i in $(seq 1 11); do
		r=$(call POST /v1/conversions "$TOKEN" '{"code":"'"$CODE"'","email":"buyer'"$i.$RUN"'@example.org","event":"purchase",
			"amount":9223372036854775807,"externalId":"abuse-'"$RUN-$i"'"}')
		got+=("$(status "$r")")
	done
	ok=false
	[ "$(counts "${got[@]}")" = "11×422" ] && ok=true
	report 2 "11 conversions of 9223372036854775807" "11×422" "$(counts "${got[@]}")" $ok
fi

if wants 4; then
	before=$(clicks)
	got=()
	for i in $(seq 1 100); do
		got+=("$(status "$(req --interface 127.0.0.1 -A "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0.$i.0 Safari/537.36" "$B/r/$CODE")")")
	done
	browsers=$(($(clicks) - before))
	before=$(clicks)
	for ua in "curl/8.5.0" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36" \
		"Go-http-client/1.1" "python-requests/2.32.3" "Wget/1.21.4" "axios/1.7.2"; do
		got+=("$(status "$(req --interface 127.0.0.3 -A "$ua" "$B/r/$CODE")")")
	done
	bots=$(($(clicks) - before))
	ok=false
	[ "$browsers" -le 10 ] && [ "$bots" -eq 0 ] && [ "$(counts "${got[@]}")" = "106×302" ] && ok=true
	report 4 "100 browsers from one address, 6 automation clients" "≤ 10 and 0 counted, 106×302" \
		"$browsers and $bots counted, $(counts "${got[@]}")" $ok
fi

if wants 3; then
	got=()
	for i in $(seq 1 50); do
		got+=("$(status "$(req --interface 127.0.0.1 -X POST "$B/v1/auth/login" -H 'Content-Type: application/json' \
			-d "{\"email\":\"$EMAIL\",\"password\":\"wrong-password-$i\"}")")")
	done
	r=$(req --interface 127.0.0.2 -X POST "$B/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
	ok=false
	[ "$(status "$r")" = 200 ] && ok=true
	report 3 "50 failed admin logins from 127.0.0.1, then the admin from 127.0.0.2" "200" \
		"$(status "$r") (the 50: $(counts "${got[@]}"))" $ok
fi

exit $failed
