#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 30), seeded with output of real Nix:
# NARs, narinfos and a recorded serve session from Tests/FerryCoreTests/Fixtures, and the
# example configs. A finding stops the run with libFuzzer's report and the crashing input
# saved under fuzz/findings/; add that input to fuzz/regressions/<target>/ and a test.
#   scripts/fuzz.sh [SECONDS] [TARGET…]     (targets: nar narinfo serve config)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}; shift || true
targets=("$@"); ((${#targets[@]})) || targets=(nar narinfo serve config)

swift build --product ferry-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DFERRY_FUZZ >/dev/null
fuzzer=$(swift build --product ferry-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DFERRY_FUZZ --show-bin-path)/ferry-fuzz

fixtures=Tests/FerryCoreTests/Fixtures
seeds() {
  case $1 in
    nar) echo "$fixtures/top.nar $fixtures/tree.nar" ;;
    narinfo) echo "$fixtures/top.narinfo $fixtures/dep.narinfo $fixtures/nix-cache-info" ;;
    serve) echo "$fixtures/serve-session.server" ;;
    config) echo examples/*.toml ;;
  esac
}

mkdir -p fuzz/findings
for target in "${targets[@]}"; do
  corpus=$(mktemp -d)
  # shellcheck disable=SC2046
  cp $(seeds "$target") "$corpus/"
  [ -d "fuzz/regressions/$target" ] && cp "fuzz/regressions/$target"/* "$corpus/" 2>/dev/null || true
  echo "fuzz: $target for ${seconds}s" >&2
  SWIFT_BACKTRACE=enable=no FERRY_FUZZ_TARGET=$target "$fuzzer" "$corpus" -max_total_time="$seconds" -max_len=65536 \
    -artifact_prefix="fuzz/findings/$target-" -print_final_stats=1 2>"$corpus.log" \
    || { tail -40 "$corpus.log" >&2; echo "fuzz: $target found a crash (fuzz/findings/)" >&2; exit 1; }
  grep -E 'stat::number_of_executed_units|cov:' "$corpus.log" | tail -2 >&2
  rm -rf "$corpus" "$corpus.log"
done
