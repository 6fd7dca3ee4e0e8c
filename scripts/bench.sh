#!/usr/bin/env bash
# Runs the benchmark harness (bench/run.mjs) in Node and headless Chromium and
# prints tables with ratios to the libraries users would pick instead, then
# the relay's scale benchmark (relay/examples/scale.rs: access checks, the
# conversation list and mailboxes with 10 to 10,000 patients per clinician,
# on loopback, bounded to about a minute).
# BENCH_MIB (default 64) sets the attachment size, BENCH_MEMORY_GIB (default 1)
# how much is streamed for the memory figure; SCALE_N, SCALE_REQUESTS and
# SCALE_BUDGET_SECS tune the relay benchmark (see its header).
# `scripts/bench.sh relay` runs only the relay benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

relay_bench() {
  cargo run --quiet --release --locked -p careseal-relay --example scale
}

if [ "${1:-}" = relay ]; then
  relay_bench
  exit 0
fi

./scripts/bootstrap.sh >/dev/null
./scripts/build-package.sh >/dev/null
rm -rf build/bench-pkg
wasm-pack --quiet build --release --target web --no-pack \
  --out-dir build/bench-pkg --out-name careseal -- --features bench >&2
# The same wasm-opt pass as the npm package, so the numbers are the package's.
node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
  build/bench-pkg/careseal_bg.wasm -o build/bench-pkg/careseal_bg.wasm
node bench/run.mjs
relay_bench
