#!/usr/bin/env bash
# The demo: Ferry's NAR and hash commands on a sample tree, checked against real Nix.
set -euo pipefail
cd "$(dirname "$0")/.."
ferry=.build/debug/ferry
work=demo-work
rm -rf "$work"; mkdir -p "$work/tree/sub"
printf 'B' > "$work/tree/B"
printf 'hello\n' > "$work/tree/a.txt"
ln -s a.txt "$work/tree/link"
printf '#!/bin/sh\necho hi\n' > "$work/tree/sub/run.sh"; chmod +x "$work/tree/sub/run.sh"

$ferry --help
echo
echo "== ferry nar dump is byte-identical to nix-store --dump"
$ferry nar dump "$work/tree" > "$work/tree.nar"
cmp "$work/tree.nar" <(nix-store --dump "$work/tree") && echo "identical ($(stat -c %s "$work/tree.nar") bytes)"
echo "== ferry nar ls"
$ferry nar ls "$work/tree.nar"
echo "== ferry hash path vs nix hash path"
echo "ferry: $($ferry hash path "$work/tree")"
echo "nix:   sha256:$(nix --extra-experimental-features nix-command hash path --base32 "$work/tree")"
echo "== ferry nar restore round-trips"
$ferry nar restore "$work/restored" < "$work/tree.nar"
cmp "$work/tree.nar" <(nix-store --dump "$work/restored") && echo "restored tree dumps to the same NAR"
