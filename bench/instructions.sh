#!/usr/bin/env bash
# Instructions per call for the verification cases of crates/tokengate/benches/instructions.rs,
# counted by callgrind (exact and repeatable, unlike wall-clock medians on a shared VM).
#
#   bash bench/instructions.sh                 # build, then count every case
#   BIN=/tmp/instructions-old bash bench/instructions.sh   # count another build (before/after)
#   RESULTS=/tmp/counts bash bench/instructions.sh          # also write "case count" lines
#                                                           # (what bench/gate.sh compares)
#
# Each case runs N iterations in its own process; only the measured loop is counted
# (--toggle-collect), so key generation and set-up stay out. Needs valgrind (installed via apt
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null 2>&1 || true; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bench_bin() { # package bench -> the built benchmark's executable
  cargo bench -p "$1" --bench "$2" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]==sys.argv[1] and m.get("executable"): print(m["executable"])' "$2" | tail -1
}
BIN=${BIN:-$(bench_bin tokengate instructions)}
RESULTS=${RESULTS:-/dev/null}
: >"$RESULTS"
record() { echo "$1 $2" >>"$RESULTS"; } # name count
per_call() { # case [binary [args...]] -> instructions per call
  local total case=$1; shift
  total=$(valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
    "${@:-$BIN}" "$case" "$N" 2>&1 | awk '/Collected :/ {print $NF}')
  echo $(( total / N ))
}
printf '%-8s %12s %12s %12s %12s %12s %10s %10s\n' size tokengate jsonwebtoken primitive floor own share ratio
for size in 0.4KB 4KB 16KB; do
  declare -A c=()
  for what in tokengate jsonwebtoken primitive floor; do c[$what]=$(per_call "sizes/$size/$what"); done
  own=$(( c[tokengate] - c[primitive] - c[floor] ))
  ratio=$(python3 -c "print(f'{${c[tokengate]}/${c[jsonwebtoken]}:.2f}')")
  share=$(python3 -c "print(f'{$own/${c[tokengate]}:.2f}')")
  record "sizes/$size/tokengate" "${c[tokengate]}"
  record "sizes/$size/own" "$own"
  printf '%-8s %12s %12s %12s %12s %12s %10s %10s\n' "$size" "${c[tokengate]}" "${c[jsonwebtoken]}" \
    "${c[primitive]}" "${c[floor]}" "$own" "$share" "$ratio"
done
echo "(instructions per call; own = tokengate - primitive - floor; share = own / tokengate; ratio = tokengate / jsonwebtoken)"

# Cases whose set-up is too long for instrumentation: valgrind starts with it off, and
# callgrind_control turns it on once the case prints "ready" (before its measured loop).
per_call_paused() { # case -> instructions per call
  local dir pid total
  dir=$(mktemp -d); mkfifo "$dir/go"
  INSTRUCTIONS_PAUSE=1 valgrind --tool=callgrind --instr-atstart=no --toggle-collect='*measured*' \
    --callgrind-out-file=/dev/null "$BIN" "$1" "$N" <"$dir/go" 2>"$dir/log" &
  pid=$!
  exec 3>"$dir/go"
  until grep -q '^ready' "$dir/log"; do sleep 1; done
  callgrind_control -i on "$pid" >/dev/null 2>&1
  echo >&3; exec 3>&-
  wait "$pid"
  total=$(awk '/Collected :/ {print $NF}' "$dir/log"); rm -rf "$dir"
  echo $(( total / N ))
}

printf '\n%-8s %12s %12s %12s\n' cache hit sha256 ratio
sha=$(per_call cache/sha256); hit=$(per_call cache/hit)
record cache/hit "$hit"
printf '%-8s %12s %12s %12s\n' 1000 "$hit" "$sha" "$(python3 -c "print(f'{$hit/$sha:.2f}')")"
if [[ -n "${CACHE_MILLION:-}" ]]; then
  million=$(per_call_paused cache/hit/1000000)
  printf '%-8s %12s %12s %12s\n' 1000000 "$million" "$sha" "$(python3 -c "print(f'{$million/$sha:.2f}')")"
fi
echo "(0.3 KB HS256 token, five-field claims, a hit with 1,000 cached tokens (CACHE_MILLION=1: also 1,000,000); ratio = hit / SHA-256 of the token)"

printf '\n%-8s %12s %12s %12s %12s\n' proof request signature bearer own
bearer=$(per_call dpop/bearer)
record dpop/bearer "$bearer"
pair() { # case -> "first second": the inclusive counts per call of its two measured loops
  local out; out=$(mktemp)
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file="$out" \
    "$BIN" "$1" "$N" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes "$out" | tr -d , | awk -v n="$N" '
    /fixture::measured / {first = int($1 / n)} /measured_second / {second = int($1 / n)}
    END {print first, second}'
  rm -f "$out"
}
for alg in RS256 EdDSA ES256; do
  read -r request signature < <(pair "dpop/$alg/pair")
  record "dpop/$alg/own" $(( request - signature - bearer ))
  printf '%-8s %12s %12s %12s %12s\n' "$alg" "$request" "$signature" "$bearer" $(( request - signature - bearer ))
done
echo "(DPoP request through decide with the token cached, and the proof's signature alone, over one proof in one process; own = request - signature - bearer, bearer an unbound token of the same length)"

printf '\n%-8s %12s %12s %12s %12s\n' jwe tokengate decrypt jws own
read -r jwe decrypt < <(pair jwe/pair); jws=$(per_call jwe/jws)
record jwe/RSA-OAEP/own $(( jwe - decrypt - jws ))
printf '%-8s %12s %12s %12s %12s\n' RSA-OAEP "$jwe" "$decrypt" "$jws" $(( jwe - decrypt - jws ))
echo "(RSA-OAEP-256 + A256GCM around an RS256 JWT, no cache, tokengate and decrypt over one key in one process; own = tokengate - decrypt - jws)"

# The adapters' own cost: a request through the adapter minus the same request without it
# minus the verification alone. For axum the baseline is a router behind a layer that does
# nothing (axum boxes every layered route and its future, whatever the layer).
[[ -n "${SKIP_ADAPTERS:-}" ]] && exit 0
printf '\n%-8s %12s %12s %12s %12s\n' adapter with without verify own
adapter() { # name package bench with without
  local bin with without verify
  bin=$(bench_bin "$2" "$3")
  with=$(per_call "$4" "$bin" --count); without=$(per_call "$5" "$bin" --count)
  verify=$(per_call verify "$bin" --count)
  record "adapter/$1/own" $(( with - without - verify ))
  printf '%-8s %12s %12s %12s %12s\n' "$1" "$with" "$without" "$verify" $(( with - without - verify ))
}
adapter tower tokengate-tower layer layer identity_layer
adapter warp tokengate-warp filter filter no_filter
adapter actix tokengate-actix middleware middleware no_middleware
echo "(HS256, StandardClaims; own = with - without - verify; tower's without is a router behind an identity layer)"
