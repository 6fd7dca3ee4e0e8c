#!/usr/bin/env bash
# Makes a bare machine ready to build and test CareSeal. Idempotent: every
# step checks first and is skipped when already done, so a second run takes
# seconds.
#
# Installs: the wasm32 Rust target, rustfmt and clippy; wasm-pack; the
# wasm-bindgen CLI at exactly the version in Cargo.lock; cargo-fuzz; Debian's
# chromium, chromium-driver, age and g++ (libFuzzer is C++); PyNaCl; the
# project's npm dev dependencies (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# Rust: target and components.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

# wasm-bindgen CLI: must match the wasm-bindgen crate in Cargo.lock exactly
# (wasm-pack cannot download one here).
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wb_version" ]; then
  echo "bootstrap: no wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (about 2 minutes)"
  # --locked can fail when a pinned dependency has left the registry; the
  # unlocked install still builds the same CLI version.
  cargo install wasm-bindgen-cli --version "$wb_version" --locked --force \
    || cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  say "installing wasm-pack (about 2 minutes)"
  cargo install wasm-pack --locked || cargo install wasm-pack
fi

# cargo-fuzz for scripts/fuzz.sh; it runs on the stable toolchain
# (RUSTC_BOOTSTRAP=1), so no nightly is installed.
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (about 3 minutes)"
  cargo install cargo-fuzz --locked
fi

# Debian packages: the browser and driver for tests, age for interop tests,
# a C++ compiler for libFuzzer.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v age >/dev/null 2>&1 || missing+=(age)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PyNaCl for the independent Python implementation of the sealed-message
# spec (tests/interop), which checks docs/PROTOCOL.md against the code.
if ! python3 -c 'import nacl.bindings' >/dev/null 2>&1; then
  say "pip install pynacl"
  python3 -m pip install --quiet --disable-pip-version-check pynacl==1.6.2
fi

# JavaScript dev dependencies (playwright-core drives Debian's Chromium; it
# never downloads a browser of its own).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "ready"
