"""MSRV check without an old toolchain (none can be installed here): every library's declared
rust-version must be at least the rust-version of each crate it pulls in as a normal dependency
(with the versions in Cargo.lock), so the declaration is not a promise the dependencies break."""
import json
import subprocess
import sys

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked"]))
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
CHECKED = ["tokengate", "tokengate-tower", "tokengate-actix", "tokengate-warp", "tokengate-cli", "tokengate-redis"]


def version(text):
    parts = [int(x) for x in (text or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


failures = []
for pid in meta["workspace_members"]:
    root = packages[pid]
    if root["name"] not in CHECKED:
        continue
    declared = version(root["rust_version"])
    seen, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for dep in nodes[current]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    for dep in seen:
        needed = packages[dep].get("rust_version")
        if needed and version(needed) > declared:
            failures.append(f'{root["name"]} declares rust-version {root["rust_version"]}, '
                            f'but {packages[dep]["name"]} {packages[dep]["version"]} needs {needed}')
    print(f'{root["name"]}: rust-version {root["rust_version"]}, {len(seen)} normal dependencies checked')
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
