# Shared by the benchmarks (sourced): the release build, a work folder, fixtures in the
# local store, an sshd on loopback, and timing with peak RSS. Nothing here asserts.

set -euo pipefail
export NIX_REMOTE=${NIX_REMOTE:-local}
# No sandbox, no build users, no substituters (the fixtures are built here, never downloaded).
NIX_CONFIG=$(cat scripts/nix.conf); export NIX_CONFIG
export LC_ALL=C.UTF-8
cores=$(nproc)
ferry=$PWD/.build/release/ferry
echo "building ferry (release)" >&2
swift build -c release >/dev/null
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
cleanups=("rm -rf '$work'")
# Undone last first: the sshd goes before the folder that holds its pid file.
trap 'for ((c = ${#cleanups[@]} - 1; c >= 0; c--)); do eval "${cleanups[$c]}" || true; done' EXIT

# One store path holding MIB MiB of seeded random bytes (incompressible; the same path
# every run).
huge_fixture() {
  mkdir -p "$work/huge"
  python3 - "$work/huge/blob" "$1" <<'PY'
import random, sys
r = random.Random(4242)
with open(sys.argv[1], "wb") as f:
    for _ in range(int(sys.argv[2])):
        f.write(r.randbytes(1 << 20))
PY
  nix-store --add "$work/huge"
  rm -rf "$work/huge"
}

# About MIB MiB of this machine's libraries and documentation, dealt round-robin into
# PARTS store paths; prints the paths.
realistic_fixture() {
  python3 - "$work/realistic" "$1" "$2" <<'PY'
import os, shutil, sys, sysconfig
dest, budget, parts = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3])
total, n = 0, 0
multiarch = "/usr/lib/" + (sysconfig.get_config_var("MULTIARCH") or "")
for top in (multiarch, "/usr/share/doc", "/usr/lib", "/usr/share"):
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            src = os.path.join(root, name)
            if total >= budget or os.path.islink(src) or not os.path.isfile(src): continue
            out = os.path.join(dest, f"part{n % parts}", top.strip("/").replace("/", "_"), os.path.relpath(src, top))
            if os.path.exists(out): continue
            os.makedirs(os.path.dirname(out), exist_ok=True)
            try: shutil.copyfile(src, out)
            except OSError: continue
            total += os.path.getsize(out)
            n += 1
PY
  for part in "$work"/realistic/part*; do nix-store --add "$part"; done
  rm -rf "$work/realistic"
}

# N small paths (N a multiple of 100) with references, under one top path; prints the top
# path. Layer k is one derivation of 100 outputs, and its output i refers to outputs i and
# i+1 of layer k-1: N paths from N/100 builds (Nix takes about 0.3 s a build).
small_fixture() {
  cat > "$work/small.nix" <<'NIX'
{ n, name }:
let
  width = 100;
  out = i: "o${toString i}";
  layer = k: prev: derivation {
    name = "${name}-${toString k}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    outputs = builtins.genList out width;
    args = [ "-c" (builtins.concatStringsSep "\n" (builtins.genList (i:
      "head -c 3000 /dev/urandom | od -x > \$${out i}; echo ${
        if prev == null then "" else prev.${out i} + (if i + 1 < width then " " + prev.${out (i + 1)} else "")
      } >> \$${out i}") width)) ];
  };
  layers = builtins.foldl' (acc: k: acc ++ [ (layer k (if acc == [ ] then null else builtins.elemAt acc (k - 1))) ])
    [ ] (builtins.genList (k: k) (n / width));
  last = builtins.elemAt layers (n / width - 1);
in derivation {
  name = "${name}-top"; system = builtins.currentSystem; builder = "/bin/sh"; PATH = "/bin:/usr/bin";
  args = [ "-c" "echo ${toString (builtins.genList (i: last.${out i}) width)} > $out" ];
}
NIX
  nix-build "$work/small.nix" --arg n "$1" --argstr name "small$1" --no-out-link --quiet 2>/dev/null | tail -1
}

# sshd on a free loopback port with fresh keys; sets ssh_opts (for ssh and NIX_SSHOPTS),
# ssh_host and ssh_url (for Ferry).
start_sshd() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ssh-keygen -q -t ed25519 -N '' -f "$work/host"; ssh-keygen -q -t ed25519 -N '' -f "$work/client"
  cp "$work/client.pub" "$work/authorized_keys"; mkdir -p /run/sshd
  cat > "$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
MaxStartups 100
PidFile $work/sshd.pid
SetEnv NIX_REMOTE=local
CONF
  /usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
  cleanups+=("kill \$(cat '$work/sshd.pid')")
  echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$work/host.pub")" > "$work/known_hosts"
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  ssh_opts="-p $port -i $work/client -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"
  ssh_host=root@127.0.0.1
  ssh_url="ssh://root@127.0.0.1:$port?ssh-key=$work/client&known-hosts=$work/known_hosts"
}

declare -A times rss
# measure KEY COMMAND…: adds this run's seconds to times[KEY] and keeps the peak RSS (KiB).
# Every command starts with nothing left to write back: Ferry's syncfs would otherwise
# flush the files the commands before it left unflushed (a dump, nix copy's cache).
measure() {
  local key=$1 seconds kib; shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r seconds kib < "$work/time"
  times[$key]+="$seconds "
  rss[$key]=$(( ${rss[$key]:-0} > kib ? ${rss[$key]:-0} : kib ))
}

median() { tr ' ' '\n' <<<"${times[$1]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {printf "%.2f", a / b}'; }
