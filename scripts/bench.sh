#!/usr/bin/env bash
# Runs the benchmark harness (bench/run.mjs) in Node and headless Chromium and
# prints tables with ratios to the libraries users would pick instead.
# BENCH_MIB (default 64) sets the attachment size, BENCH_MEMORY_GIB (default 1)
# how much is streamed for the memory figure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

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
