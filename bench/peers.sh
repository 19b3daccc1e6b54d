#!/usr/bin/env bash
# Peer comparison over HTTP: tokengate's three example servers and the crates a user would pick
# instead (bench/peers/: jwt-authorizer, axum-jwt-auth, tower-oauth2-resource-server,
# oauth-resource-server, aliri, actix-web-httpauth + jsonwebtoken, warp + jsonwebtoken), in one
# run. Every server answers `GET /health` and `GET /me` (an RS256 token with the issuer and
# audience checked, `{"sub", "scopes"}` back). Before a server is timed it must admit the valid
# token and refuse two forged ones (signed by another key under the same kid; `alg: none`);
# a server that admits a forged token is reported and not timed.
#
# Each server is pinned to CPU 0, wrk to CPU 1 (`wrk -t1 -cCONNECTIONS -dDURATION`). The table
# gives `/me` requests/s, p99, the same server's `/health`, and `/me` as a ratio of tokengate's
# `/me` in the same framework with the cache off.
#
#   bash bench/peers.sh            # ~3 minutes once built; the first build takes ~10 minutes
#   DURATION=10s bash bench/peers.sh
#
# Needs 2 CPUs and crates.io for the first build. Installs wrk with apt-get when missing. Not
# part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3900}
ISSUER=https://bench.tokengate
AUDIENCE=tokengate-demo
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "bench/peers.sh needs 2 CPUs (server on one, wrk on the other)" >&2
  exit 2
fi

PEERS=(jwt-authorizer axum-jwt-auth tower-oauth2-resource-server oauth-resource-server aliri actix-jsonwebtoken warp-jsonwebtoken)

echo "building tokengate's examples and the peers (release)..." >&2
cargo build --release -q -p axum-api -p actix-api -p warp-api -p tokengate-bench
# One peer at a time: each gets exactly the features it enables itself (crypto backends differ).
for peer in "${PEERS[@]}"; do
  (cd bench/peers && cargo build --release -q -p "peer-$peer")
done

./target/release/tokengate-bench keys "$WORK"
mkdir "$WORK/other"
./target/release/tokengate-bench keys "$WORK/other"
TOKEN=$(cat "$WORK/RS256.token")
# Signed by another RS256 key under the same kid.
FORGED_KEY=$(cat "$WORK/other/RS256.token")
# The real header and payload with `alg: none` and no signature.
none_header=$(printf '{"alg":"none","kid":"bench-rs256","typ":"JWT"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
FORGED_NONE="$none_header.$(echo "$TOKEN" | cut -d. -f2)."

wait_up() {
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server did not start" >&2
  return 1
}

status() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT/me"
}

# wrk_run PATH [TOKEN] -> "rps p99"
wrk_run() {
  local path=$1 token=${2:-}
  local header=()
  if [ -n "$token" ]; then header=(-H "Authorization: Bearer $token"); fi
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "http://127.0.0.1:$PORT$path" >"$WORK/wrk.out"
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  p99=$(awk '/ 99%/ {print $2}' "$WORK/wrk.out")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.out")
  if [ -n "$non2xx" ]; then echo "warning: $non2xx non-2xx answers on $path" >&2; fi
  echo "$rps $p99"
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

declare -A BASE
printf '%-32s %-6s %12s %10s %12s %8s %12s\n' server cache "me req/s" "me p99" "health req/s" "me/health" "÷ tokengate"
run() {
  local name=$1 framework=$2 cache=$3
  shift 3
  taskset -c 0 "$@" >/dev/null 2>"$WORK/server.err" &
  local pid=$!
  if ! wait_up; then
    cat "$WORK/server.err" >&2
    stop "$pid"
    return
  fi
  local valid forged_key forged_none
  valid=$(status "$TOKEN")
  forged_key=$(status "$FORGED_KEY")
  forged_none=$(status "$FORGED_NONE")
  if [ "$valid" != 200 ] || [ "$forged_key" = 200 ] || [ "$forged_none" = 200 ]; then
    printf '%-32s %-6s not timed: valid token %s, forged by another key %s, alg none %s\n' \
      "$name" "$cache" "$valid" "$forged_key" "$forged_none"
    stop "$pid"
    return
  fi
  local health_rps me_rps me_p99
  read -r health_rps _ < <(wrk_run /health)
  read -r me_rps me_p99 < <(wrk_run /me "$TOKEN")
  stop "$pid"
  local key="$framework"
  if [ "$cache" = off ] && [[ $name == tokengate* ]]; then BASE[$key]=$me_rps; fi
  local base=${BASE[$key]:-}
  local ratio=-
  if [ -n "$base" ]; then ratio=$(awk -v a="$me_rps" -v b="$base" 'BEGIN { printf "%.2f", a / b }'); fi
  printf '%-32s %-6s %12s %10s %12s %8s %12s\n' "$name" "$cache" "$me_rps" "$me_p99" "$health_rps" \
    "$(awk -v a="$me_rps" -v b="$health_rps" 'BEGIN { printf "%.2f", a / b }')" "$ratio"
}

tokengate() {
  local framework=$1 cache=$2
  TOKENGATE_ADDR="127.0.0.1:$PORT" TOKENGATE_ISSUER=$ISSUER TOKENGATE_AUDIENCE=$AUDIENCE \
    TOKENGATE_JWKS_FILE="$WORK/jwks.json" TOKENGATE_ALGORITHMS=RS256 \
    TOKENGATE_CACHE=$([ "$cache" = on ] && echo 1 || echo 0) \
    run "tokengate ($framework example)" "$framework" "$cache" "./target/release/$framework-api"
}

peer() {
  local name=$1 framework=$2
  run "$name" "$framework" off "./bench/peers/target/release/peer-$name" "127.0.0.1:$PORT" "$WORK/jwks.json" "$ISSUER" "$AUDIENCE"
}

tokengate axum off
tokengate axum on
for name in jwt-authorizer axum-jwt-auth tower-oauth2-resource-server oauth-resource-server aliri; do
  peer "$name" axum
done
tokengate actix off
tokengate actix on
peer actix-jsonwebtoken actix
tokengate warp off
tokengate warp on
peer warp-jsonwebtoken warp
