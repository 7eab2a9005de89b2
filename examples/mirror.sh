#!/usr/bin/env bash
# Cron-ready cache mirroring: copies the store paths listed in a file from one binary cache
# to another, one shard of N per machine, logs to a file, and exits as ferry does:
#   0  every path is at the destination     1  some failed (listed in the log)
#   2  usage or configuration error         (and whatever `ferry` exits with otherwise)
#
#   crontab:  17 * * * *  /usr/local/bin/mirror.sh /etc/ferry/wanted.txt
#   shards:   SHARD=2/3 mirror.sh wanted.txt   (machines 1/3, 2/3 and 3/3 together take every path once)
set -uo pipefail

list=${1:?usage: mirror.sh PATHS-FILE}
from=${FROM:-https://cache.nixos.org}
to=${TO:-s3://company-nix-mirror?region=eu-west-1&secret-key=/etc/ferry/mirror.sec}
key=${TRUSTED_KEY:-cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=}
log=${LOG:-/var/log/ferry-mirror.log}
lock=${LOCK:-/run/lock/ferry-mirror.lock}

# One run at a time on this machine; a second cron tick while one runs does nothing.
exec 9>"$lock"
flock -n 9 || { echo "$(date -Is) mirror: still running, skipped" >>"$log"; exit 0; }

args=(mirror --from "$from" --to "$to" --trusted-public-key "$key" --paths-from "$list" --closure)
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")

echo "$(date -Is) mirror: start ${SHARD:+shard $SHARD }from $from to ${to%%\?*}" >>"$log"
ferry "${args[@]}" >>"$log" 2>&1
status=$?
case $status in
  0) echo "$(date -Is) mirror: done" >>"$log" ;;
  1) echo "$(date -Is) mirror: some paths failed (see above); the next run retries them" >>"$log" ;;
  *) echo "$(date -Is) mirror: error $status (configuration or usage)" >>"$log" ;;
esac
exit $status
