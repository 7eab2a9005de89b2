#!/usr/bin/env bash
# Peak memory of `ferry copy-closure` and `ferry mirror` (into S3, multipart) on a NAR four
# times larger than --memory-limit (`make bench` has the copies too; this adds S3).
# A benchmark, not a test: it prints figures (peak RSS from /usr/bin/time -v, and the
# limiter's own peak), it asserts nothing.
#   bench/memory.sh [BUDGET_MIB]     (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
budget_mib=${1:-64}
path=$(huge_fixture $((budget_mib * 4)))
nar_bytes=$(nix-store --query --size "$path")

measure_memory() {  # name, then the ferry arguments
  local name=$1; shift
  /usr/bin/time -v "$ferry" "$@" "$path" 2> "$work/time.txt" >/dev/null || { cat "$work/time.txt"; exit 1; }
  local rss_kib peak
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  peak=$(grep -o 'peak [0-9.]* [KMG]iB reserved' "$work/time.txt" || true)
  printf '| %-28s | %8s MiB | %6d MiB | %6d MiB | %-26s |\n' "$name" "$((nar_bytes >> 20))" "$budget_mib" "$((rss_kib / 1024))" "$peak"
}

echo "| run                          | NAR          | budget     | peak RSS   | limiter                    |"
echo "|------------------------------|--------------|------------|------------|----------------------------|"
measure_memory "local → file, zstd"  copy-closure --memory-limit "${budget_mib}MiB" --to "file://$work/cache-zstd?compression=zstd"
measure_memory "local → file, none"  copy-closure --memory-limit "${budget_mib}MiB" --to "file://$work/cache-none?compression=none"
measure_memory "local → store root"  copy-closure --memory-limit "${budget_mib}MiB" --to "local?root=$work/root"

# Mirroring: Nix writes the source caches; moto's S3 server (checking signatures) takes them.
nix copy --to "file://$work/src-zstd?compression=zstd" "$path"
nix copy --to "file://$work/src-none?compression=none" "$path"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INITIAL_NO_AUTH_ACTION_COUNT=4 python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
cleanups+=("kill $!")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <(python3 -c "
import boto3, json
kw = dict(endpoint_url='http://127.0.0.1:$port', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')
iam = boto3.client('iam', **kw)
iam.create_user(UserName='bench')
iam.put_user_policy(UserName='bench', PolicyName='all', PolicyDocument=json.dumps(
    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
key = iam.create_access_key(UserName='bench')['AccessKey']
s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:$port', region_name='us-east-1', aws_access_key_id=key['AccessKeyId'],
             aws_secret_access_key=key['SecretAccessKey'])
for bucket in ('as-is', 'recompressed'):
    s3.create_bucket(Bucket=bucket)
print(key['AccessKeyId'], key['SecretAccessKey'])")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
s3="endpoint=127.0.0.1:$port&scheme=http&multipart-threshold=16MiB&compression=zstd"
measure_memory "mirror zstd → S3, as is"     mirror --no-check-sigs --memory-limit "${budget_mib}MiB" --from "file://$work/src-zstd" --to "s3://as-is?$s3"
measure_memory "mirror none → S3, zstd"      mirror --no-check-sigs --memory-limit "${budget_mib}MiB" --from "file://$work/src-none" --to "s3://recompressed?$s3"
nix-store --delete "$path" >/dev/null 2>&1 || true
