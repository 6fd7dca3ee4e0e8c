#!/usr/bin/env bash
# Builds the npm package: wasm-pack (release, --target web) plus pkg-template/
# -> build/npm/, then `npm pack` -> dist/careseal-<version>.tgz.
# Prints the tarball's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)

rm -rf build/wasm-pkg build/npm
wasm-pack --quiet build --release --target web --no-pack \
  --out-dir build/wasm-pkg --out-name careseal >&2

# Debian's wasm-opt is too old for current Rust output; the npm package
# binaryen (a dev dependency) is current. -O3 keeps the speed of opt-level 3
# and drops the name section.
node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
  build/wasm-pkg/careseal_bg.wasm -o build/wasm-pkg/careseal_bg.opt.wasm
mv build/wasm-pkg/careseal_bg.opt.wasm build/wasm-pkg/careseal_bg.wasm

mkdir -p build/npm dist
cp build/wasm-pkg/careseal.js build/wasm-pkg/careseal.d.ts \
  build/wasm-pkg/careseal_bg.wasm build/wasm-pkg/careseal_bg.wasm.d.ts build/npm/
cp pkg-template/*.js pkg-template/*.d.ts \
  pkg-template/README.md build/npm/
cp LICENSE build/npm/
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("pkg-template/package.json", "utf8"));
  pkg.version = process.argv[1];
  fs.writeFileSync("build/npm/package.json", JSON.stringify(pkg, null, 2) + "\n");
' "$version"

rm -f "dist/careseal-$version.tgz"
(cd build/npm && npm pack --silent --pack-destination ../../dist >/dev/null)
tarball="dist/careseal-$version.tgz"
[ -f "$tarball" ] || { echo "build-package: npm pack made no $tarball" >&2; exit 1; }
echo "$PWD/$tarball"
