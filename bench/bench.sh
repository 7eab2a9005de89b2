#!/usr/bin/env bash
# `make bench`: Ferry beside Nix and beside the hardware bound, measured in one run (only
# ratios from the same run mean anything on a shared machine). Every command of a row
# runs RUNS times, alternating with the others; the table gives medians, the ratios the
# targets are stated in, and the peak RSS of every Ferry run beside its memory budget.
# It prints figures and asserts nothing.
#
#   RUNS=5 XZ_RUNS=1 REALISTIC_MIB=1024 SMALL_PATHS=2000 PLAN_PATHS=10000 HUGE_BUDGET_MIB=64 bench/bench.sh
#
# XZ_RUNS=0 leaves out xz (about four minutes a command per GiB on two cores, three commands).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

runs=${RUNS:-5}; xz_runs=${XZ_RUNS:-1}
realistic_mib=${REALISTIC_MIB:-1024}; small_paths=${SMALL_PATHS:-2000}; plan_paths=${PLAN_PATHS:-10000}
huge_budget=${HUGE_BUDGET_MIB:-64}
budget_mib=1024  # Ferry's default --memory-limit, used by every row but the huge ones
zstd3="compression=zstd&compression-level=3"

echo "fixtures: realistic ($realistic_mib MiB in 8 paths), $small_paths and $plan_paths small paths, huge ($((huge_budget * 4)) MiB)" >&2
mapfile -t realistic < <(realistic_fixture "$realistic_mib" 8)
small=$(small_fixture "$small_paths")
plan=$(small_fixture "$plan_paths")
huge=$(huge_fixture $((huge_budget * 4)))
start_sshd
nar_mib() { echo $(( $(for p in "$@"; do nix-store -q --size "$p"; done | paste -sd+ | bc) >> 20 )); }
dump_all="for p in ${realistic[*]}; do nix-store --dump \$p; done"

# plan_time KEY ARGS…: a Ferry run into an empty cache; times[KEY] gets the seconds
# until its plan event (closure, presence and path infos known), times[KEY-all] the whole run.
plan_time() {
  local key=$1; shift
  sync  # as in measure: nothing left over to write back
  read -r planned total < <(python3 - "$ferry" "$@" <<'PY'
import subprocess, sys, time
start = time.monotonic()
run = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
planned = None
for line in run.stdout:
    if planned is None and '"event":"plan"' in line.replace(" ", ""):
        planned = time.monotonic() - start
if run.wait() != 0 or planned is None: sys.exit("ferry failed or printed no plan event")
print(f"{planned:.2f} {time.monotonic() - start:.2f}")
PY
)
  times[$key]+="$planned "; times[$key-all]+="$total "
}

# The commands of a group, each a function of the round's folder $w.
zstd_ferry() { measure ferry-zstd "$ferry" copy-closure -q --to "file://$w/fz?$zstd3" "${realistic[@]}"; }
zstd_nix() { measure nix-zstd nix copy --to "file://$w/nz?$zstd3" "${realistic[@]}"; }
zstd_bound() { measure bound-zstd sh -c "$dump_all | zstd -q -3 -T$cores > '$w/bound.zst'"; }
# ssh_zstd_ferry [TRANSPORT]: libssh2 (Ferry's default) or openssh (the system's ssh).
ssh_zstd_ferry() {
  local transport=${1:-libssh2}
  measure "ferry-ssh-zstd-$transport" "$ferry" copy-closure -q --from "$ssh_url&transport=$transport" \
    --to "file://$w/fsz-$transport?$zstd3" "${realistic[@]}"
}
ssh_zstd_nix() {
  measure nix-ssh-zstd env NIX_SSHOPTS="$ssh_opts" nix copy --from "ssh://$ssh_host" --to "file://$w/nsz?$zstd3" "${realistic[@]}"
}
ssh_zstd_bound() { measure bound-ssh-zstd sh -c "ssh $ssh_opts $ssh_host '$dump_all' | zstd -q -3 -T$cores > '$w/bsz.zst'"; }
ssh_none_bound() { measure bound-ssh-none sh -c "ssh $ssh_opts $ssh_host '$dump_all' > '$w/dump'"; }
# The same stream through one more process, as any tool that hashes it must take it:
# cat writes 128 KiB at a time, dd here 16 KiB (this machine's kernel pays far more for
# the larger page-cache writes).
ssh_none_cat() { measure cat-ssh-none sh -c "ssh $ssh_opts $ssh_host '$dump_all' | cat > '$w/dump-cat'"; }
ssh_none_dd() {
  measure dd-ssh-none sh -c "ssh $ssh_opts $ssh_host '$dump_all' | dd bs=16K iflag=fullblock status=none of='$w/dump-dd'"
}
ssh_none_ferry() {  # SESSIONS [TRANSPORT]
  local transport=${2:-libssh2}
  measure "ferry-ssh-none-$1-$transport" "$ferry" copy-closure -q --jobs 4 \
    --from "$ssh_url&max-connections=$1&transport=$transport" --to "file://$w/fsn$1-$transport?compression=none" "${realistic[@]}"
}

# run_rotated ROUND COMMAND…: runs each COMMAND (a function and its arguments, one word
# each), starting with the ROUND-th, so no command always runs in the same place: on this
# machine memory given back is slow to take again (16 GiB first touched at 0.3 GiB/s), so
# a command pays for what the one before it freed.
run_rotated() {
  local k=$(( $1 % ($# - 1) )) command; shift
  local all=("$@")
  for command in "${all[@]:k}" "${all[@]:0:k}"; do $command; done
}

for i in $(seq "$runs"); do
  echo "round $i of $runs" >&2
  w=$work/r$i; mkdir -p "$w"
  run_rotated "$i" zstd_ferry zstd_nix zstd_bound
  rm -rf "${w:?}"/*
  run_rotated "$i" ssh_zstd_ferry "ssh_zstd_ferry openssh" ssh_zstd_nix ssh_zstd_bound
  rm -rf "${w:?}"/*
  run_rotated "$i" ssh_none_bound ssh_none_cat ssh_none_dd "ssh_none_ferry 1" "ssh_none_ferry 2" "ssh_none_ferry 4" \
    "ssh_none_ferry 1 openssh"
  rm -rf "${w:?}"/*

  measure ferry-small "$ferry" copy-closure -q --to "file://$w/fs?compression=zstd" "$small"
  measure ferry-small-skip "$ferry" copy-closure -q --to "file://$w/fs?compression=zstd" "$small"
  measure nix-small nix copy --to "file://$w/ns?compression=zstd" "$small"
  measure nix-small-skip nix copy --to "file://$w/ns?compression=zstd" "$small"
  plan_time ferry-plan copy-closure --json --to "file://$w/fp?compression=zstd" "$plan"
  measure ferry-plan-skip "$ferry" copy-closure -q --to "file://$w/fp?compression=zstd" "$plan"

  measure ferry-huge "$ferry" copy-closure -q --memory-limit "${huge_budget}MiB" --to "file://$w/fh?$zstd3" "$huge"
  measure ferry-huge-ssh "$ferry" copy-closure -q --memory-limit "${huge_budget}MiB" --from "$ssh_url" \
    --to "file://$w/fhs?$zstd3" "$huge"
  rm -rf "$w"/fh "$w"/fhs
done
for i in $(seq "$xz_runs"); do
  echo "xz round $i of $xz_runs" >&2
  w=$work/x$i; mkdir -p "$w"
  measure ferry-xz "$ferry" copy-closure -q --to "file://$w/fx?compression=xz&parallel-compression=true" "${realistic[@]}"
  measure nix-xz nix copy --to "file://$w/nx?compression=xz&parallel-compression=true" "${realistic[@]}"
  measure bound-xz sh -c "$dump_all | xz -q -6 -T$cores > '$w/bound.xz'"
  rm -rf "$w"
done

# row LABEL KEY [REFERENCE-KEY TARGET-RATIO BUDGET-MIB]
row() {
  local label=$1 key=$2 ref=${3:-} target=${4:-} budget=${5:-$budget_mib} ratio="" verdict="" mem=""
  if [ -n "$ref" ]; then
    ratio="$(ratio "$key" "$ref")×"
    [ -n "$target" ] && verdict=$(awk -v r="${ratio%×}" -v t="$target" 'BEGIN {print (r <= t) ? "met (≤ " t "×)" : "NOT met (≤ " t "×)"}')
  fi
  [ -n "${rss[$key]:-}" ] && [[ $key == ferry* ]] && mem="$(( rss[$key] / 1024 )) of $budget MiB"
  printf '| %s | %s s | %s | %s | %s |\n' "$label" "$(median "$key")" "$ratio" "$verdict" "$mem"
}
seconds_row() {  # LABEL KEY LIMIT-SECONDS
  local m; m=$(median "$2")
  printf '| %s | %s s | | %s | %s |\n' "$1" "$m" \
    "$(awk -v m="$m" -v t="$3" 'BEGIN {print (m < t) ? "met (< " t " s)" : "NOT met (< " t " s)"}')" \
    "$( [ -n "${rss[$2]:-}" ] && echo "$(( rss[$2] / 1024 )) of $budget_mib MiB")"
}

echo
echo "Ferry $(git describe --always --dirty 2>/dev/null || echo '?'), $(nix --version), $cores cores, $(date -u '+%F %H:%M UTC')"
echo "realistic: ${#realistic[@]} paths, $(nar_mib "${realistic[@]}") MiB of NAR; small: $(nix-store -qR "$small" | wc -l) paths;" \
     "plan: $(nix-store -qR "$plan" | wc -l) paths; huge: $(nar_mib "$huge") MiB NAR"
echo "medians of $runs rounds (xz: $xz_runs); ratios are Ferry ÷ the row's reference"
echo
echo "| run | time | ratio | target | Ferry peak RSS |"
echo "|---|---|---|---|---|"
row "local→file zstd-3: Ferry ÷ dump\|zstd -3 -T$cores" ferry-zstd bound-zstd 1.15
row "local→file zstd-3: Ferry ÷ nix copy" ferry-zstd nix-zstd
row "local→file zstd-3: nix copy" nix-zstd
row "local→file zstd-3: nix-store --dump \| zstd -3 -T$cores" bound-zstd
if [ "$xz_runs" -gt 0 ]; then
  row "local→file xz, parallel: Ferry ÷ nix copy" ferry-xz nix-xz 0.6
  row "local→file xz, parallel: Ferry ÷ dump\|xz -6 -T$cores" ferry-xz bound-xz
  row "local→file xz, parallel: nix copy" nix-xz
  row "local→file xz: nix-store --dump \| xz -6 -T$cores" bound-xz
fi
row "ssh→file zstd-3: Ferry ÷ ssh dump\|zstd -3 -T$cores" ferry-ssh-zstd-libssh2 bound-ssh-zstd 1.15
row "ssh→file zstd-3: Ferry ÷ nix copy --from ssh://" ferry-ssh-zstd-libssh2 nix-ssh-zstd 0.85
row "ssh→file zstd-3: Ferry, transport=openssh ÷ ssh dump\|zstd -3 -T$cores" ferry-ssh-zstd-openssh bound-ssh-zstd 1.15
row "ssh→file zstd-3: nix copy --from ssh://" nix-ssh-zstd
row "ssh→file zstd-3: ssh nix-store --dump \| zstd -3 -T$cores" bound-ssh-zstd
# max-connections defaults to jobs (4): the 4-session row is Ferry as it comes.
for s in 1 2 4; do
  row "ssh→file none: Ferry, $s session(s)$([ $s = 4 ] && echo ' (the default)') ÷ one OpenSSH dump" ferry-ssh-none-$s-libssh2 bound-ssh-none 1.2
done
row "ssh→file none: Ferry, transport=openssh, 1 session ÷ one OpenSSH dump" ferry-ssh-none-1-openssh bound-ssh-none 1.2
row "ssh→file none: ssh nix-store --dump > file" bound-ssh-none
row "ssh→file none: ssh nix-store --dump \| cat > file" cat-ssh-none
row "ssh→file none: ssh nix-store --dump \| dd bs=16K > file" dd-ssh-none
row "$small_paths small paths, plan + copy: Ferry ÷ nix copy" ferry-small nix-small
row "$small_paths small paths, second run (all there): Ferry ÷ nix copy" ferry-small-skip nix-small-skip
seconds_row "$small_paths small paths, second run (all there): Ferry" ferry-small-skip 2
row "$small_paths small paths, plan + copy: nix copy" nix-small
row "$small_paths small paths, second run: nix copy" nix-small-skip
seconds_row "$plan_paths small paths: Ferry's planning (until its plan event)" ferry-plan 5
row "$plan_paths small paths: Ferry, plan + copy" ferry-plan-all
row "$plan_paths small paths, second run: Ferry" ferry-plan-skip
row "huge, local→file zstd-3, --memory-limit ${huge_budget}MiB: Ferry" ferry-huge "" "" "$huge_budget"
row "huge, ssh→file zstd-3, --memory-limit ${huge_budget}MiB: Ferry" ferry-huge-ssh "" "" "$huge_budget"
echo
echo "Peak RSS target: at most the budget + 64 MiB on every row."
echo
echo "Every run's seconds, in round order (a median hides how far they spread):"
for key in $(printf '%s\n' "${!times[@]}" | sort); do printf '  %-26s %s\n' "$key" "${times[$key]}"; done
