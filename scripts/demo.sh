#!/usr/bin/env bash
# Builds CareSeal and serves the demo page on 127.0.0.1 (PORT, default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

./scripts/bootstrap.sh
./scripts/build-package.sh >/dev/null
exec node scripts/serve-demo.mjs
