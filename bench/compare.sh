#!/usr/bin/env bash
# Ferry beside Nix and beside the hardware bound, measured in one run (only ratios from the
# same run mean anything on a shared machine). Each command runs RUNS times, alternating
# with the others; the table gives medians, ratios and Ferry's peak RSS. It asserts nothing.
#   bench/compare.sh                     (RUNS=3 REALISTIC_MIB=1024 SMALL_PATHS=2000 XZ=1)
set -euo pipefail
cd "$(dirname "$0")/.."
export NIX_REMOTE=${NIX_REMOTE:-local}
export NIX_CONFIG=$'sandbox = false\nexperimental-features = nix-command'

runs=${RUNS:-3}; realistic_mib=${REALISTIC_MIB:-1024}; small_paths=${SMALL_PATHS:-2000}
cores=$(nproc)
ferry=$PWD/.build/release/ferry
[ -x "$ferry" ] || swift build -c release >/dev/null
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "fixtures: realistic (${realistic_mib} MiB of /usr/lib and /usr/share/doc), ${small_paths} small paths" >&2
python3 - "$work/realistic" "$realistic_mib" <<'PY'
import os, shutil, sys
dest, budget = sys.argv[1], int(sys.argv[2]) << 20
total = 0
for top in ("/usr/lib/x86_64-linux-gnu", "/usr/share/doc", "/usr/lib", "/usr/share"):
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            src = os.path.join(root, name)
            if total >= budget or os.path.islink(src) or not os.path.isfile(src): continue
            out = os.path.join(dest, top.strip("/").replace("/", "_"), os.path.relpath(src, top))
            if os.path.exists(out): continue
            os.makedirs(os.path.dirname(out), exist_ok=True)
            try: shutil.copyfile(src, out)
            except OSError: continue
            total += os.path.getsize(out)
PY
realistic=$(nix-store --add "$work/realistic")
rm -rf "$work/realistic"

# Many small paths with references: layer k refers to two paths of layer k-1.
cat > "$work/small.nix" <<'NIX'
{ n }:
let
  mk = name: script: derivation { inherit name; system = builtins.currentSystem; builder = "/bin/sh";
                                  args = [ "-c" script ]; PATH = "/bin:/usr/bin"; };
  layer = 100;
  at = i: builtins.elemAt nodes i;
  refs = i: if i < layer then [ ] else
    [ (at (i - layer)) ] ++ (if i - (i / layer) * layer < layer - 1 then [ (at (i - layer + 1)) ] else [ ]);
  nodes = builtins.genList (i: mk "small-${toString i}"
    "head -c 3000 /dev/urandom | od -x > $out; echo ${toString (refs i)} >> $out") n;
in mk "small-top" "echo ${toString nodes} > $out"
NIX
small=$(nix-build "$work/small.nix" --arg n "$((small_paths - 1))" --no-out-link --quiet 2>/dev/null | tail -1)
echo "realistic: $realistic ($(($(nix-store -q --size "$realistic") >> 20)) MiB NAR); small: $(nix-store -qR "$small" | wc -l) paths" >&2

declare -A times rss
measure() {  # key, command…: appends seconds (and peak RSS KiB) for this run
  local key=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r seconds kib < "$work/time"
  times[$key]+="$seconds "
  rss[$key]=$(( ${rss[$key]:-0} > kib ? ${rss[$key]:-0} : kib ))
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for i in $(seq "$runs"); do
  echo "round $i of $runs" >&2
  measure ferry-zstd "$ferry" copy-closure --to "file://$work/fz$i?compression=zstd&compression-level=3" "$realistic"
  measure nix-zstd nix copy --to "file://$work/nz$i?compression=zstd&compression-level=3" "$realistic"
  measure bound-zstd sh -c "nix-store --dump '$realistic' | zstd -q -3 -T$cores > '$work/bound$i.zst'"
  if [ "${XZ:-1}" = 1 ]; then
    measure ferry-xz "$ferry" copy-closure --to "file://$work/fx$i?compression=xz&parallel-compression=true" "$realistic"
    measure nix-xz nix copy --to "file://$work/nx$i?compression=xz&parallel-compression=true" "$realistic"
  fi
  measure ferry-small "$ferry" copy-closure --to "file://$work/fs$i?compression=zstd" "$small"
  measure ferry-small-skip "$ferry" copy-closure --to "file://$work/fs$i?compression=zstd" "$small"
  measure nix-small nix copy --to "file://$work/ns$i?compression=zstd" "$small"
  measure nix-small-skip nix copy --to "file://$work/ns$i?compression=zstd" "$small"
  rm -rf "$work"/fz$i "$work"/nz$i "$work"/bound$i.zst "$work"/fx$i "$work"/nx$i "$work"/fs$i "$work"/ns$i
done

row() {  # label, key, reference key (or -), reference label
  local m r
  m=$(median "${times[$2]}")
  if [ "$3" = - ]; then r="—"; else r=$(awk -v a="$m" -v b="$(median "${times[$3]}")" 'BEGIN {printf "%.2f× %s", a / b, ""}')"$4"; fi
  local mem="—"; [[ $2 == ferry* ]] && mem="$(( ${rss[$2]} / 1024 )) MiB"
  printf '| %-44s | %8s s | %-26s | %9s |\n' "$1" "$m" "$r" "$mem"
}
echo
echo "| run ($cores cores, $runs rounds, median) | time | ratio | peak RSS |"
echo "|---|---|---|---|"
row "local→file zstd-3, Ferry" ferry-zstd bound-zstd "the dump|zstd bound"
row "local→file zstd-3, nix copy" nix-zstd - ""
row "local→file zstd-3, nix-store --dump | zstd -3 -T$cores" bound-zstd - ""
echo "| Ferry / nix copy, zstd | | $(awk -v a="$(median "${times[ferry-zstd]}")" -v b="$(median "${times[nix-zstd]}")" 'BEGIN {printf "%.2f×", a / b}') | |"
if [ "${XZ:-1}" = 1 ]; then
  row "local→file xz parallel, Ferry" ferry-xz nix-xz "nix copy"
  row "local→file xz parallel, nix copy" nix-xz - ""
fi
row "$(nix-store -qR "$small" | wc -l) small paths, Ferry: plan + copy" ferry-small nix-small "nix copy"
row "same, second run (all skipped), Ferry" ferry-small-skip nix-small-skip "nix copy"
row "$(nix-store -qR "$small" | wc -l) small paths, nix copy" nix-small - ""
row "same, second run, nix copy" nix-small-skip - ""
