#!/usr/bin/env bash
# Installs what Ferry's build, demo and tests need on a Debian machine (run as root).
# Idempotent and quick when everything is there: it only calls apt-get for what is missing.
set -euo pipefail

packages=(
  liblzma-dev libzstd-dev libssh2-1-dev libbz2-dev libbrotli-dev zlib1g-dev liblz4-dev pkg-config   # C libraries Ferry links
  nix-bin                                                        # the reference for every format
  openssh-server openssh-client nginx-light                      # real peers for integration tests
  zstd xz-utils bzip2 brotli gzip lz4 lzip time procps util-linux bc python3 gdb    # tools the tests and benchmarks call
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The S3 server the tests run (moto checks SigV4 signatures) and the client that reads it back.
if ! python3 -c 'import moto.server, boto3, flask_cors' 2>/dev/null; then
  echo "bootstrap: installing moto[server] and boto3 from PyPI" >&2
  python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }
  # Debian's own python3 refuses installs outside a venv unless told (PEP 668).
  python3 -m pip install -q 'moto[server]' boto3 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'moto[server]' boto3
fi

# Nix runs daemonless for root (NIX_REMOTE=local, set by the Makefile); the store must exist.
mkdir -p /nix/store /nix/var/nix
command -v swift >/dev/null || { echo "bootstrap: swift is not on PATH (this project needs Swift 6.1 or later)" >&2; exit 1; }
