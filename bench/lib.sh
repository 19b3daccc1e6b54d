# Shared by bench/load.sh and bench/peers.sh (sourced, not run): settings, the work directory,
# wrk installed when missing, and the helpers that start, time and stop a server.
#
#   NAME=bench/x.sh; source bench/lib.sh

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3900}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "$NAME needs 2 CPUs (server on one, wrk on the other)" >&2
  exit 2
fi

# Waits until the server on $PORT answers GET /health.
wait_up() {
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server did not start" >&2
  return 1
}

# wrk_run PATH [TOKEN] -> "rps p99" (wrk pinned to CPU 1)
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

# Stops a server started in the background.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
