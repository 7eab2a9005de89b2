#!/usr/bin/env bash
# Peak memory of `ferry copy-closure` on a NAR four times larger than --memory-limit.
# A benchmark, not a test: it prints figures (peak RSS from /usr/bin/time -v, and the
# limiter's own peak), it asserts nothing.
#   bench/memory.sh [BUDGET_MIB]     (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
export NIX_REMOTE=${NIX_REMOTE:-local}
budget_mib=${1:-64}
nar_mib=$((budget_mib * 4))
ferry=.build/release/ferry
[ -x "$ferry" ] || swift build -c release >/dev/null
work=$(mktemp -d /tmp/ferry-bench-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A store path holding one incompressible file of NAR_MIB MiB, seeded so it is the same path every run.
mkdir -p "$work/huge"
python3 -c "
import random, sys
r = random.Random(4242)
with open('$work/huge/blob', 'wb') as f:
    for _ in range($nar_mib):
        f.write(r.randbytes(1 << 20))
"
path=$(nix-store --add "$work/huge")
nar_bytes=$(nix-store --query --size "$path")

measure() {  # name, then the ferry arguments
  local name=$1; shift
  /usr/bin/time -v "$ferry" "$@" "$path" 2> "$work/time.txt" >/dev/null || { cat "$work/time.txt"; exit 1; }
  local rss_kib peak
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  peak=$(grep -o 'peak [0-9.]* [KMG]iB reserved' "$work/time.txt" || true)
  printf '| %-28s | %8s MiB | %6d MiB | %6d MiB | %-26s |\n' "$name" "$((nar_bytes >> 20))" "$budget_mib" "$((rss_kib / 1024))" "$peak"
}

echo "| run                          | NAR          | budget     | peak RSS   | limiter                    |"
echo "|------------------------------|--------------|------------|------------|----------------------------|"
measure "local → file, zstd"  copy-closure --memory-limit "${budget_mib}MiB" --to "file://$work/cache-zstd?compression=zstd"
measure "local → file, none"  copy-closure --memory-limit "${budget_mib}MiB" --to "file://$work/cache-none?compression=none"
measure "local → store root"  copy-closure --memory-limit "${budget_mib}MiB" --to "local?root=$work/root"
nix-store --delete "$path" >/dev/null 2>&1 || true
