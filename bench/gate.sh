#!/usr/bin/env bash
# The instruction-count regression gate (run by .ci/run): counts every case of
# bench/instructions.sh under callgrind and fails when one has grown more than 3 % over
# bench/baseline.txt. Counts are exact for a build on this machine kind, so 3 % is a change in
# the code, not noise (docs/benchmarks.md, "The regression gate").
#
#   bash bench/gate.sh            # count and compare
#   UPDATE=1 bash bench/gate.sh   # count and write the new counts into bench/baseline.txt,
#                                 # keeping each line's reason (edit the reason of the lines
#                                 # you meant to change, and commit the file with the code)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=$(mktemp)
trap 'rm -f "$COUNTS"' EXIT
RESULTS=$COUNTS bash bench/instructions.sh
echo
python3 - "$COUNTS" bench/baseline.txt "${UPDATE:-}" <<'PY'
import sys
counts_file, baseline_file, update = sys.argv[1], sys.argv[2], sys.argv[3]
TOLERANCE = 1.03
counts = {}
for line in open(counts_file):
    name, value = line.split()
    counts[name] = int(value)
header, rows = [], []
for line in open(baseline_file):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        header.append(line)
        continue
    name, value, *reason = line.split(None, 2)
    rows.append((name, int(value), reason[0] if reason else ""))
failed = []
print(f"{'case':24} {'baseline':>10} {'now':>10} {'change':>8}")
for name, base, reason in rows:
    now = counts.get(name)
    if now is None:
        failed.append(f"{name}: not measured")
        print(f"{name:24} {base:>10} {'-':>10}")
        continue
    change = (now - base) / base * 100 if base else 0.0
    mark = ""
    if now > base * TOLERANCE:
        mark = "  <- grew more than 3 %"
        failed.append(f"{name}: {base} -> {now} (+{change:.1f} %)")
    elif now < base / TOLERANCE:
        mark = "  (fell more than 3 %: lower the baseline)"
    print(f"{name:24} {base:>10} {now:>10} {change:>+7.1f}%{mark}")
ungated = sorted(set(counts) - {name for name, _, _ in rows})
if ungated:
    print("measured, not gated:", ", ".join(f"{n}={counts[n]}" for n in ungated))
if update:
    with open(baseline_file, "w") as out:
        out.write("\n".join(header) + "\n")
        for name, base, reason in rows:
            out.write(f"{name} {counts.get(name, base)} {reason}".rstrip() + "\n")
    print(f"wrote {baseline_file}")
    sys.exit(0)
if failed:
    print("\ninstruction-count gate FAILED (a deliberate change updates bench/baseline.txt, with a reason):")
    for f in failed:
        print("  " + f)
    sys.exit(1)
print("instruction-count gate: every case within 3 % of bench/baseline.txt")
PY
