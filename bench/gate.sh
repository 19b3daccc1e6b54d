#!/usr/bin/env bash
# The instruction-count regression gate (run by .ci/run): counts every case of
# bench/instructions.sh under callgrind and fails when one has grown more than 3 % over
# bench/baseline.txt (an "own" value, a difference of counts: 3 % and 250 instructions). Counts
# are exact for a build on this machine kind to within ~0.1 %, so that is a change in the code,
# not noise (docs/benchmarks.md, "The regression gate").
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
# An "own" value is a difference of counts taken in separate processes; the C heap's state
# (which earlier allocations shaped) moves a process's count by up to ~180 instructions, so an
# own value may also grow by this much before it fails (docs/benchmarks.md, "The regression
# gate").
OWN_SLACK = 250
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
    limit = max(base * TOLERANCE, base + OWN_SLACK) if name.endswith("/own") else base * TOLERANCE
    if now > limit:
        mark = "  <- grew past its limit"
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
