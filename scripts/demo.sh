#!/usr/bin/env bash
# The demo: Ferry's main job on a built-in default. It builds a small closure in the
# local Nix store, copies it with the default pipeline (local → limiter → zstd → file
# cache in ./demo-cache, signed with a key it generates), and has Nix check the result.
set -euo pipefail
cd "$(dirname "$0")/.."
ferry=.build/debug/ferry
work=demo-work
mkdir -p "$work"

echo "== building the sample closure (examples/demo.nix)"
top=$(nix-build examples/demo.nix --no-out-link)
nix-store --query --requisites "$top"

if [ ! -f "$work/demo-key.sec" ]; then
  echo "== generating a signing key"
  $ferry keys generate --name ferry-demo-1 --secret-file "$work/demo-key.sec" --public-file "$work/demo-key.pub"
fi

echo "== ferry copy-closure --to file://$PWD/demo-cache"
rm -rf demo-cache
$ferry copy-closure --memory-limit 256MiB \
  --to "file://$PWD/demo-cache?compression=zstd&secret-key=$work/demo-key.sec&write-nar-listing=1" "$top"

echo "== the cache"
find demo-cache -maxdepth 1 -name '*.narinfo' | sort | head -3
cat "demo-cache/$(basename "$top" | cut -c1-32).narinfo"

echo "== nix store verify (contents and Ferry's signatures)"
nix --extra-experimental-features nix-command store verify --store "file://$PWD/demo-cache" -r "$top" \
  --trusted-public-keys "$(cat "$work/demo-key.pub")"
echo "verified: every path of the closure is trusted and intact"

echo "== a second run copies nothing"
$ferry copy-closure --to "file://$PWD/demo-cache?secret-key=$work/demo-key.sec&write-nar-listing=1" "$top"
