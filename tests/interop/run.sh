#!/usr/bin/env bash
# The interop run (called by .ci/run, not by cargo test): the examples against a real,
# certified OpenID provider — panva's oidc-provider, pinned in package-lock.json — on loopback.
# Needs Node 20+ and npm (the npm registry); nothing else beyond the workspace.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --quiet -p axum-api -p actix-api -p warp-api
target="${CARGO_TARGET_DIR:-$root/target}/debug"
cd "$here"
npm ci --no-audit --no-fund --silent
node run.mjs "$target"
