#!/usr/bin/env bash
# End-to-end load benchmark: the three example servers (axum, actix-web, warp) and a baseline
# server whose middleware calls jsonwebtoken::decode directly, each pinned to CPU 0, driven by wrk
# pinned to CPU 1 over loopback. For HS256, RS256, ES256 and EdDSA, cache off and on, it prints
# requests/s and p99 latency of `GET /me` with a valid token, and the ratio to the same server's
# unauthenticated `GET /health` measured in the same run.
#
#   bash bench/load.sh            # ~4 minutes on 2 cores
#   DURATION=10s CONNECTIONS=64 bash bench/load.sh
#   SERVERS="axum actix warp" ALGS=RS256 CACHES=1 bash bench/load.sh   # a subset
#
# Needs 2 CPUs. Installs wrk with apt-get when it is missing. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=bench/load.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

cargo build --release -q -p axum-api -p actix-api -p warp-api -p tokengate-bench
./target/release/tokengate-bench keys "$WORK"

printf '%-10s %-6s %-6s %12s %10s %12s %8s\n' server alg cache "me req/s" "me p99" "health req/s" ratio
for server in ${SERVERS:-axum actix warp baseline}; do
  for alg in ${ALGS:-HS256 RS256 ES256 EdDSA}; do
    token=$(cat "$WORK/$alg.token")
    # The HS256 secret has a key set of its own (tokengate refuses a set mixing secrets and
    # public keys).
    jwks="$WORK/jwks.json"
    if [ "$alg" = HS256 ]; then jwks="$WORK/hs256.jwks.json"; fi
    for cache in ${CACHES:-0 1}; do
      if [ "$server" = baseline ] && [ "$cache" = 1 ]; then continue; fi
      if [ "$server" = baseline ]; then
        taskset -c 0 ./target/release/tokengate-bench baseline "$alg" "$jwks" "127.0.0.1:$PORT" &
      else
        TOKENGATE_ADDR="127.0.0.1:$PORT" TOKENGATE_ISSUER=https://bench.tokengate TOKENGATE_AUDIENCE=tokengate-demo TOKENGATE_JWKS_FILE="$jwks" \
          TOKENGATE_ALGORITHMS="$alg" TOKENGATE_CACHE="$cache" taskset -c 0 "./target/release/$server-api" >/dev/null &
      fi
      pid=$!
      wait_up
      read -r health_rps _ < <(wrk_run /health)
      read -r me_rps me_p99 < <(wrk_run /me "$token")
      stop "$pid"
      ratio=$(awk -v a="$me_rps" -v b="$health_rps" 'BEGIN { printf "%.2f", a / b }')
      label=$([ "$cache" = 1 ] && echo on || echo off)
      [ "$server" = baseline ] && label=-
      printf '%-10s %-6s %-6s %12s %10s %12s %8s\n' "$server" "$alg" "$label" "$me_rps" "$me_p99" "$health_rps" "$ratio"
    done
  done
done
