#!/usr/bin/env bash
# Instructions per call for the verification cases of crates/tokengate/benches/instructions.rs,
# counted by callgrind (exact and repeatable, unlike wall-clock medians on a shared VM).
#
#   bash bench/instructions.sh                 # build, then count every case
#   BIN=/tmp/instructions-old bash bench/instructions.sh   # count another build (before/after)
#
# Each case runs N iterations in its own process; only the measured loop is counted
# (--toggle-collect), so key generation and set-up stay out. Needs valgrind (installed via apt
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null 2>&1 || true; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
if [[ -z "${BIN:-}" ]]; then
  BIN=$(cargo bench -p tokengate --bench instructions --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="instructions" and m.get("executable"): print(m["executable"])' | tail -1)
fi
per_call() { # case -> instructions per call
  local total
  total=$(valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
    "$BIN" "$1" "$N" 2>&1 | awk '/Collected :/ {print $NF}')
  echo $(( total / N ))
}
printf '%-8s %12s %12s %12s %12s %12s %10s %10s\n' size tokengate jsonwebtoken primitive floor own share ratio
for size in 0.4KB 4KB 16KB; do
  declare -A c=()
  for what in tokengate jsonwebtoken primitive floor; do c[$what]=$(per_call "sizes/$size/$what"); done
  own=$(( c[tokengate] - c[primitive] - c[floor] ))
  ratio=$(python3 -c "print(f'{${c[tokengate]}/${c[jsonwebtoken]}:.2f}')")
  share=$(python3 -c "print(f'{$own/${c[tokengate]}:.2f}')")
  printf '%-8s %12s %12s %12s %12s %12s %10s %10s\n' "$size" "${c[tokengate]}" "${c[jsonwebtoken]}" \
    "${c[primitive]}" "${c[floor]}" "$own" "$share" "$ratio"
done
echo "(instructions per call; own = tokengate - primitive - floor; share = own / tokengate; ratio = tokengate / jsonwebtoken)"

printf '\n%-8s %12s %12s %12s %12s\n' proof request signature bearer own
bearer=$(per_call dpop/bearer)
for alg in RS256 EdDSA ES256; do
  request=$(per_call "dpop/$alg/request"); signature=$(per_call "dpop/$alg/signature")
  printf '%-8s %12s %12s %12s %12s\n' "$alg" "$request" "$signature" "$bearer" $(( request - signature - bearer ))
done
echo "(DPoP request through decide with the token cached; own = request - signature - bearer)"
