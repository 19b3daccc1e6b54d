#!/usr/bin/env bash
# The MCP SDK run (called by .ci/run, not by cargo test): examples/mcp-server against the
# official MCP TypeScript SDK client, pinned in package-lock.json, with tokens from the
# server's development issuer — all on loopback. Needs Node 20+ and npm (the npm registry).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --quiet -p mcp-server --features dev-issuer
target="${CARGO_TARGET_DIR:-$root/target}/debug"
cd "$here"
npm ci --no-audit --no-fund --silent
node client.mjs "$target"
