#!/usr/bin/env bash
# Runs the benchmark harness (bench/run.mjs) in Node and headless Chromium and
# prints tables with ratios to the libraries users would pick instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

./scripts/bootstrap.sh >/dev/null
rm -rf build/bench-pkg
wasm-pack --quiet build --release --target web --no-pack \
  --out-dir build/bench-pkg --out-name careseal -- --features bench >&2
node bench/run.mjs
