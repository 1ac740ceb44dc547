#!/usr/bin/env bash
# Size and package-initialisation time of every Lambda function, next to a
# hello-world aws-lambda-go function (scripts/lambda-hello) built the same way.
#
# Size: the deployed binary, built as `make lambda` builds it (GOOS=linux
# GOARCH=arm64 CGO_ENABLED=0 -tags lambda.norpc -trimpath -ldflags='-s -w').
# Init: the sum of GODEBUG=inittrace=1's per-package times, from the same
# build for this machine's architecture (an arm64 binary does not run here),
# started outside Lambda (main then fails at once: only init is measured);
# the minimum and the median of FOOTPRINT_RUNS runs (default 21): on a busy
# machine the median varies with the load, the minimum much less. Also which of SQLite, the
# PDF library, the web UI (internal/web, its pages templ components), the
# decimal library behind money formatting (apd), the SES mailer and the
# SDK's default configuration chain (config) each function links
# (go list -deps with the build's tags).
#
# Usage: scripts/lambda-footprint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${FOOTPRINT_RUNS:-21}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/partnerloop-footprint.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FLAGS=(-tags lambda.norpc -trimpath -ldflags='-s -w')

init_ms() { # minimum and median total init time of a binary, in ms ("min/median")
  local bin=$1 i
  for i in $(seq 1 "$RUNS"); do
    GODEBUG=inittrace=1 AWS_LAMBDA_RUNTIME_API= timeout 10 "$bin" 2>&1 >/dev/null </dev/null |
      awk '/^init /{t += $5} END {printf "%.2f\n", t}' || true
  done | sort -n | awk '{a[NR]=$1} END {printf "%s/%s\n", a[1], a[int((NR+1)/2)]}'
}

links() { # which of the heavy libraries a package links
  local deps out=""
  deps=$(go list -tags lambda.norpc -deps "$1")
  grep -qx 'modernc.org/sqlite' <<<"$deps" && out+="sqlite "
  grep -qx 'github.com/go-pdf/fpdf' <<<"$deps" && out+="pdf "
  grep -qx 'github.com/partnerloop/partnerloop/internal/web' <<<"$deps" && out+="web-ui "
  grep -qx 'github.com/cockroachdb/apd/v3' <<<"$deps" && out+="apd "
  grep -qx 'github.com/partnerloop/partnerloop/internal/mail/sesmail' <<<"$deps" && out+="ses "
  grep -qx 'github.com/aws/aws-sdk-go-v2/config' <<<"$deps" && out+="config "
  echo "${out:-none}"
}

row() { # name package
  local name=$1 pkg=$2
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build "${FLAGS[@]}" -o "$TMP/$name.arm64" "$pkg"
  CGO_ENABLED=0 go build "${FLAGS[@]}" -o "$TMP/$name.native" "$pkg"
  local size ms
  size=$(stat -c %s "$TMP/$name.arm64")
  ms=$(init_ms "$TMP/$name.native")
  echo "$name $size $ms $(links "$pkg")"
}

echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3-), load $(cut -d' ' -f1-3 /proc/loadavg); init is the minimum/median of $RUNS runs"
hello=$(row hello-world ./scripts/lambda-hello)
read -r _ hsize hms _ <<<"$hello"
printf '| %-22s | %9s | %6s | %13s | %-28s |\n' function "size MB" "× hello" "init ms" "links"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..30})"
for line in "$hello" $(for d in functions/*/; do n=$(basename "$d"); echo "$n"; done); do
  if [ "$line" = "$hello" ]; then r=$hello; else r=$(row "$line" "./functions/$line"); fi
  read -r name size ms libs <<<"$r"
  printf '| %-22s | %9.2f | %6.2f | %13s | %-28s |\n' "$name" "$(echo "$size/1000000" | bc -l)" "$(echo "$size/$hsize" | bc -l)" "$ms" "$libs"
done
