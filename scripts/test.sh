#!/usr/bin/env bash
# Runs every CareSeal test, after making the machine ready (scripts/bootstrap.sh):
#   1. cargo fmt --check and cargo clippy -D warnings (native and wasm32)
#   2. native tests: unit, integration, doc tests
#   3. every fuzz target for 20 s (scripts/fuzz.sh)
#   4. wasm-bindgen-test suite in Node and in headless Chromium
#   5. the relay's HTTP tests and a bounded load test (loopback only)
#   6. the packed npm package: Node ESM, TypeScript, the README examples,
#      pages in headless Chromium, and the portal end to end through the relay
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "bootstrap"
./scripts/bootstrap.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --test web --all-features --locked -- -D warnings
# The fuzz crate is its own workspace (fuzz/Cargo.toml).
(cd fuzz && cargo fmt -- --check && cargo clippy --all-targets --locked -- -D warnings)

step "native tests (crate and relay, including the relay's HTTP and load tests)"
cargo test --workspace --locked
# The relay load test prints throughput and latency percentiles.
cargo test --locked -p careseal-relay --test load -- --ignored --nocapture

step "fuzzing every decoder of untrusted bytes, 20 s per target"
./scripts/fuzz.sh 20

step "an independent Python implementation of PROTOCOL.md §1-3 against its vectors"
python3 -m unittest discover -s tests/interop -v

step "wasm tests in Node"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --locked --target wasm32-unknown-unknown --test web

step "wasm tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver \
  WASM_BINDGEN_USE_BROWSER=1 \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/scripts/webdriver.json" \
  cargo test --locked --target wasm32-unknown-unknown --test web

step "npm package, demo pages and the portal end to end"
cargo build --locked -p careseal-relay
tarball=$(./scripts/build-package.sh | tail -n 1)
./scripts/build-portal.sh
printf 'package: %s (%s KiB gzipped, wasm + JS)\n' "$tarball" \
  "$(( ($(cat build/npm/*.wasm build/npm/*.js | gzip -9 | wc -c) + 1023) / 1024 ))"
CARESEAL_TARBALL="$tarball" node --test --test-timeout=300000 tests/package/ tests/demo/ tests/e2e/ tests/hostile/

step "all tests passed"
