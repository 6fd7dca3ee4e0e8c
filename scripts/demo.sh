#!/usr/bin/env bash
# Builds CareSeal and the relay, starts the relay on 127.0.0.1 (PORT, default
# 8080) with a fresh demo database, serving the portal and the package.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

./scripts/bootstrap.sh
./scripts/build-package.sh >/dev/null
./scripts/build-portal.sh
cargo build --release --locked -p careseal-relay

port="${PORT:-8080}"
db="build/demo/relay.sqlite"
mkdir -p build/demo
# The audit keys and checkpoints serve --demo keeps beside the database
# belong to the old log: a fresh database starts with fresh ones.
rm -f "$db" "$db-wal" "$db-shm" "$db.audit-key" "$db.checkpoint-key" "$db.checkpoint-key.pub" "$db.checkpoints"

cat <<TXT

CareSeal demo portal: http://127.0.0.1:$port/

  1. Open http://127.0.0.1:$port/clinician.html and sign in as the demo clinician.
  2. Press "Invite a patient" and open the link it shows in a second window
     (a private window, or another browser profile, so the two devices keep
     separate storage).
  3. Chat, attach a file, compare safety numbers under "Verify".
  4. Under "Your devices", "Link a device" shows a link and QR code: open it
     in a third window, compare the six-digit code on both, confirm; the new
     device receives every message from then on. "Remove" takes it off.
  The "What the server sees" panel shows the ciphertext the relay stored.

The relay's database is $db; its audit log verifies with:
  target/release/careseal-relay verify-audit --db $db --audit-key $db.audit-key \\
    --checkpoints $db.checkpoints --checkpoint-public-key $db.checkpoint-key.pub

TXT
exec target/release/careseal-relay serve --demo --db "$db" --addr "127.0.0.1:$port" --www www --pkg build/npm
