#!/usr/bin/env bash
# ssh → file throughput without compression: Ferry with 1, 2 and 4 SSH sessions beside one
# OpenSSH stream of `nix-store --dump` for the same closure, all through a real sshd on
# 127.0.0.1, alternated and repeated. A benchmark: it prints a table, it asserts nothing.
#   bench/ssh-throughput.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export NIX_REMOTE=${NIX_REMOTE:-local}
rounds=${1:-3}
ferry=$PWD/.build/release/ferry
[ -x "$ferry" ] || swift build -c release >/dev/null
work=$(mktemp -d /tmp/ferry-bench-ssh.XXXXXX)
cleanup() { [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")"; rm -rf "$work"; }
trap cleanup EXIT

# sshd on a free loopback port, fresh keys (as the tests start it).
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
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$work/host.pub")" > "$work/known_hosts"
sleep 0.5

# Eight store paths of real binaries, about 200 MiB in all.
mapfile -t files < <(find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +100k | sort | head -400)
paths=()
for i in 0 1 2 3 4 5 6 7; do
  mkdir -p "$work/part$i"
  for ((f = i; f < ${#files[@]}; f += 8)); do cp "${files[$f]}" "$work/part$i/"; done
  paths+=("$(nix-store --add "$work/part$i")")
done
total=0; for p in "${paths[@]}"; do total=$((total + $(nix-store --query --size "$p"))); done

ssh_opts=(-p "$port" -i "$work/client" -o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
url="ssh://root@127.0.0.1:$port?ssh-key=$work/client&known-hosts=$work/known_hosts"
declare -A best
run() {  # name, command...
  local name=$1; shift
  local start end
  start=$(date +%s.%N); "$@" > /dev/null 2>&1; end=$(date +%s.%N)
  local seconds; seconds=$(echo "$end - $start" | bc -l)
  if [ -z "${best[$name]:-}" ] || (( $(echo "$seconds < ${best[$name]}" | bc -l) )); then best[$name]=$seconds; fi
}
for ((r = 1; r <= rounds; r++)); do
  run "openssh nix-store --dump (1 stream)" bash -c "ssh ${ssh_opts[*]} root@127.0.0.1 'for p in ${paths[*]}; do nix-store --dump \$p; done' > $work/dump"
  for s in 1 2 4; do
    rm -rf "$work/cache"
    run "ferry libssh2, $s session(s)" "$ferry" copy-closure --jobs 4 --from "$url&max-connections=$s" --to "file://$work/cache?compression=none" "${paths[@]}"
  done
  rm -rf "$work/cache"
  run "ferry openssh, 4 sessions" "$ferry" copy-closure --jobs 4 --from "$url&max-connections=4&transport=openssh" --to "file://$work/cache?compression=none" "${paths[@]}"
done
echo "closure: ${#paths[@]} paths, $((total >> 20)) MiB of NARs; best of $rounds rounds"
echo "| run | seconds | MiB/s |"
echo "|---|---|---|"
for name in "openssh nix-store --dump (1 stream)" "ferry libssh2, 1 session(s)" "ferry libssh2, 2 session(s)" "ferry libssh2, 4 session(s)" "ferry openssh, 4 sessions"; do
  printf '| %s | %.2f | %.0f |\n' "$name" "${best[$name]}" "$(echo "$total / 1048576 / ${best[$name]}" | bc -l)"
done
