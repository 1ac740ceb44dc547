#!/usr/bin/env bash
# Throughput of the hot paths, product against a bare Go server, on loopback.
#
# Builds the one-process server (infra/local) and the load tool
# (infra/local/load, vegeta as a library), starts the server on a free port
# with a throwaway data directory (embedded SQLite) and the tool's bare
# server (a map lookup + cookie + 302; for conversions: decode the same JSON
# and insert one row into SQLite in WAL mode) on another, drives both one
# after the other with the same load for each scenario — GET /r/{code} by a
# repeat visitor, by a new visitor each request (a click write), POST
# /v1/conversions — and prints the requests/s of both and the ratio (and,
# for conversions, how long after the run every conversion had its
# commission: the product prices them in the same process), then each
# server's CPU time per request (read from /proc: on a shared machine the
# requests/s swing with the other work, the CPU per request much less; for
# conversions the product's counts until its pipeline has priced them all).
# Then it stops both servers and deletes everything they wrote.
#
# Usage: scripts/throughput.sh
#   THROUGHPUT_DURATION=10s     how long each scenario runs against each server
#   THROUGHPUT_CONCURRENCY=16   concurrent requests (keep-alive connections)
#   THROUGHPUT_MAX=1000000      at most this many requests per scenario and server
#   THROUGHPUT_SCENARIO=all     repeat, new, conversion or all
#   THROUGHPUT_LOG_LEVEL=INFO   the product's LOG_LEVEL (INFO writes an access
#                               log line per request to a file, as in production)
# Needs go, curl and python3 (to find a free port). Load generator and servers
# share this machine's CPUs: compare the ratio, not the absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${THROUGHPUT_DURATION:-10s}
CONCURRENCY=${THROUGHPUT_CONCURRENCY:-16}
MAX=${THROUGHPUT_MAX:-1000000}
SCENARIO=${THROUGHPUT_SCENARIO:-all}
LOG_LEVEL=${THROUGHPUT_LOG_LEVEL:-INFO}
PASSWORD="throughput-$RANDOM$RANDOM$RANDOM"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/partnerloop-throughput.XXXXXX")
SERVER_PID=""
BARE_PID=""
cleanup() {
  local rc=$?
  for pid in $SERVER_PID $BARE_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -f "$TMP/server.log" ]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 20 "$TMP/server.log" >&2
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building server and load tool…"
go build -o "$TMP/server" ./infra/local
go build -o "$TMP/load" ./infra/local/load

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The bare server picks its own port and says which.
mkdir -p "$TMP/bare"
"$TMP/load" bare -listen 127.0.0.1:0 -data "$TMP/bare" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
BARE_URL=""
for _ in $(seq 1 100); do
  BARE_URL=$(sed -n "s/^listening on //p" "$TMP/bare.log" 2>/dev/null || true)
  [ -n "$BARE_URL" ] && break
  kill -0 "$BARE_PID" 2>/dev/null || { cat "$TMP/bare.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$BARE_URL" ] || { echo "the bare server did not start" >&2; exit 1; }

# Another process may take the port between the probe and the server's
# listen: try a few ports. Every request of the "new visitor" scenario names
# its own address in X-Forwarded-For, so the product trusts the loopback as
# its proxy.
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  PORT=$PORT DATA_DIR="$TMP/data" LOG_LEVEL=$LOG_LEVEL TRUSTED_PROXIES=127.0.0.1 \
    BOOTSTRAP_ADMIN_EMAIL=admin@example.com BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" \
    "$TMP/server" >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
      break 2
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  echo "server did not come up on port $PORT (attempt $attempt)" >&2
  tail -n 5 "$TMP/server.log" >&2 || true
done
if [ -z "$SERVER_PID" ]; then
  echo "giving up: the server never answered /healthz" >&2
  exit 1
fi

echo "product on http://127.0.0.1:$PORT (pid $SERVER_PID, LOG_LEVEL=$LOG_LEVEL), bare server on $BARE_URL (pid $BARE_PID)"
echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3-); servers and load generator share them"
BOOTSTRAP_ADMIN_EMAIL=admin@example.com BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" \
  "$TMP/load" -url "http://127.0.0.1:$PORT" -bare-url "$BARE_URL" -pid "$SERVER_PID" -bare-pid "$BARE_PID" -scenario "$SCENARIO" \
  -duration "$DURATION" -concurrency "$CONCURRENCY" -max "$MAX"
