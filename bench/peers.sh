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

NAME=bench/peers.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh
ISSUER=https://bench.tokengate
AUDIENCE=tokengate-demo

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

# status TOKEN -> the HTTP status of GET /me with that bearer token
status() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT/me"
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
