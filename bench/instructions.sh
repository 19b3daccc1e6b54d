#!/usr/bin/env bash
# Instructions per call for the verification cases of crates/tokengate/benches/instructions.rs,
# counted by cachegrind (exact and repeatable, unlike wall-clock medians on a shared VM).
#
#   bash bench/instructions.sh                 # build, then count every case
#   BIN=/tmp/instructions-old bash bench/instructions.sh   # count another build (before/after)
#
# Each case runs at 0 and N iterations in separate processes; (I(N) - I(0)) / N is the count
# per call, so key generation and set-up cancel out. Needs valgrind (apt-get install valgrind).
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
count() { # case iterations -> total instructions
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 |
    awk '/I *refs/ {gsub(",", "", $NF); print $NF}'
}
per_call() { local zero many; zero=$(count "$1" 0); many=$(count "$1" "$N"); echo $(( (many - zero) / N )); }
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
