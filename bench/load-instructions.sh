#!/usr/bin/env bash
# The servers of bench/load.sh counted in instructions instead of timed: each server runs under
# callgrind, a client sends GET /me (valid token) or GET /health over one keep-alive connection,
# and the server's instructions per request are counted between a zeroing of the counters after
# a warm-up (so start-up, quanta's clock calibration and the first key use stay out) and a dump
# after N more requests. Exact for one build and token set, whatever the machine is doing, where
# wrk's requests/s moved by ±15 % (or 2.5× on a busy day). It counts user-space work only: the
# kernel's share of a request (loopback TCP, most of /health's cost) is not in it, so read
# /me − /health as what the route adds, not as a throughput ratio.
#
#   bash bench/load-instructions.sh          # ~4 minutes
#   ALGS=RS256 CACHES=1 bash bench/load-instructions.sh   # a subset
#
# Needs valgrind (installed via apt when missing), curl and python3. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
WARM=${WARM:-20}
N=${N:-500}
PORT=${PORT:-3900}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null 2>&1 || true; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

cargo build --release -q -p axum-api -p actix-api -p warp-api -p tokengate-bench
./target/release/tokengate-bench keys "$WORK"

cat >"$WORK/client.py" <<'PY'
import http.client, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
headers = {"Authorization": "Bearer " + sys.argv[4]} if len(sys.argv) > 4 else {}
connection = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{path}: status {response.status}")
PY

# per_request SERVER ALG CACHE PATH -> the server's instructions per request
per_request() {
  local server=$1 alg=$2 cache=$3 path=$4 jwks="$WORK/jwks.json" token out="$WORK/cg.out"
  token=$(cat "$WORK/$alg.token")
  if [ "$alg" = HS256 ]; then jwks="$WORK/hs256.jwks.json"; fi
  rm -f "$out" "$out".*
  if [ "$server" = baseline ]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" \
      ./target/release/tokengate-bench baseline "$alg" "$jwks" "127.0.0.1:$PORT" >/dev/null 2>&1 &
  else
    TOKENGATE_ADDR="127.0.0.1:$PORT" TOKENGATE_ISSUER=https://bench.tokengate \
      TOKENGATE_AUDIENCE=tokengate-demo TOKENGATE_JWKS_FILE="$jwks" TOKENGATE_ALGORITHMS="$alg" \
      TOKENGATE_CACHE="$cache" valgrind --tool=callgrind --callgrind-out-file="$out" \
      "./target/release/$server-api" >/dev/null 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  local client=(python3 "$WORK/client.py" "$PORT" "$path")
  local auth=()
  if [ "$path" = /me ]; then auth=("$token"); fi
  "${client[@]}" "$WARM" "${auth[@]}"
  callgrind_control -z "$pid" >/dev/null 2>&1
  "${client[@]}" "$N" "${auth[@]}"
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  echo $(( $(awk '/^summary:/ {print $2}' "$out".1) / N ))
}

declare -A health baseline
for server in axum actix warp baseline; do
  health[$server]=$(per_request "$server" HS256 0 /health)
done
for alg in ${ALGS:-HS256 RS256 ES256 EdDSA}; do
  baseline[$alg]=$(per_request baseline "$alg" 0 /me)
done
printf '%-9s %-6s %-5s %12s %12s %12s %10s\n' server alg cache "/me" "/health" "/me-/health" "÷ baseline"
for alg in ${ALGS:-HS256 RS256 ES256 EdDSA}; do
  printf '%-9s %-6s %-5s %12s %12s %12s %10s\n' baseline "$alg" - "${baseline[$alg]}" \
    "${health[baseline]}" $(( baseline[$alg] - health[baseline] )) 1.00
  for server in axum actix warp; do
    for cache in ${CACHES:-0 1}; do
      me=$(per_request "$server" "$alg" "$cache" /me)
      ratio=$(python3 -c "print(f'{$me/${baseline[$alg]}:.2f}')")
      printf '%-9s %-6s %-5s %12s %12s %12s %10s\n' "$server" "$alg" \
        "$([ "$cache" = 1 ] && echo on || echo off)" "$me" "${health[$server]}" \
        $(( me - health[$server] )) "$ratio"
    done
  done
done
echo "(server instructions per request, user space; ÷ baseline = /me ÷ the jsonwebtoken baseline's /me)"
