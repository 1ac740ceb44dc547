#!/usr/bin/env bash
# Load test on loopback: builds the one-process server (infra/local), starts
# it on a free port with a throwaway data directory, runs the load tool
# (infra/local/load) for the redirect and the conversion scenarios, then stops
# the server and deletes everything it wrote.
#
# Usage: scripts/load.sh
#   LOAD_DURATION=10s      how long each scenario runs
#   LOAD_CONCURRENCY=16    concurrent workers (and keep-alive connections)
#   LOAD_MAX=200000        at most this many requests per scenario
#   LOAD_LOG_LEVEL=INFO    the server's LOG_LEVEL (INFO writes an access log
#                          line per request to a file, as in production)
# Needs go, curl and python3 (to find a free port).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${LOAD_DURATION:-10s}
CONCURRENCY=${LOAD_CONCURRENCY:-16}
MAX=${LOAD_MAX:-200000}
LOG_LEVEL=${LOAD_LOG_LEVEL:-INFO}
PASSWORD="load-test-$RANDOM$RANDOM$RANDOM"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/partnerloop-load.XXXXXX")
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
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

# Another process may take the port between the probe and the server's
# listen: try a few ports.
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  PORT=$PORT DATA_DIR="$TMP/data" LOG_LEVEL=$LOG_LEVEL \
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

echo "server pid $SERVER_PID on http://127.0.0.1:$PORT (data in $TMP/data, LOG_LEVEL=$LOG_LEVEL)"
echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3-); server and load tool share them"

for scenario in redirect conversion; do
  echo
  BOOTSTRAP_ADMIN_EMAIL=admin@example.com BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" \
    "$TMP/load" -url "http://127.0.0.1:$PORT" -scenario "$scenario" \
    -duration "$DURATION" -concurrency "$CONCURRENCY" -max "$MAX"
done
