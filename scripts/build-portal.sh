#!/usr/bin/env bash
# Copies the portal's third-party browser modules from node_modules (pinned in
# package-lock.json) into www/vendor/, where the relay serves them from its own
# origin (the CSP allows scripts from 'self' only). Run after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p www/vendor
# qrcode-generator (MIT): the ES module build, renamed .js for its MIME type.
cp node_modules/qrcode-generator/dist/qrcode.mjs www/vendor/qrcode.js
