#!/usr/bin/env bash
# Fuzzes every decoder of untrusted bytes (fuzz/fuzz_targets/, one target per
# decoder) with cargo-fuzz and libFuzzer, SECONDS per target (default 20):
#   scripts/fuzz.sh        # what CI runs, after the native tests
#   scripts/fuzz.sh 600    # a longer run before a release or after a parser change
#
# 1. writes seed corpora from real outputs (fuzz/src/bin/seed.rs) into
#    fuzz/corpus/<target>/; what libFuzzer adds there is kept between runs;
# 2. builds the targets (release, debug assertions, AddressSanitizer);
# 3. runs each target in turn and stops at the first crash, panic, leak,
#    timeout (10 s for one input) or memory blow-up (2 GiB), printing the end
#    of libFuzzer's report; the input is left in fuzz/artifacts/<target>/.
#
# Stable toolchain only: cargo-fuzz passes unstable rustc flags
# (-Zsanitizer=address), which RUSTC_BOOTSTRAP=1 allows on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTUP_TOOLCHAIN=stable RUSTC_BOOTSTRAP=1

seconds=${1:-20}
case "$seconds" in
  '' | *[!0-9]* | 0)
    echo "usage: scripts/fuzz.sh [SECONDS per target, default 20]" >&2
    exit 2
    ;;
esac

say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (about 3 minutes)"
  cargo install cargo-fuzz --locked
fi

started=$SECONDS
say "writing seeds from real outputs"
(cd fuzz && cargo run --locked --quiet --bin seed)

targets=()
for file in fuzz/fuzz_targets/*.rs; do
  name=${file##*/}
  targets+=("${name%.rs}")
done
say "building ${#targets[@]} targets"
cargo fuzz build
say "built in $((SECONDS - started)) s; running each target for $seconds s"

for target in "${targets[@]}"; do
  log="fuzz/target/$target.log"
  if ! cargo fuzz run "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo >&2
    say "$target FAILED; full log: $log; input: fuzz/artifacts/$target/"
    say "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target fuzz/artifacts/$target/<file>"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  say "$(printf '%-22s %10s runs in %4s s' "$target" "${runs:-?}" "${took:-?}")"
done

say "all ${#targets[@]} targets clean; $((SECONDS - started)) s in all"
