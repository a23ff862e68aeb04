#!/usr/bin/env bash
# Installs everything Slipway and its tests need on a fresh Debian 12 machine (run as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PACKAGES=(docker-registry skopeo umoci bubblewrap busybox-static git openssl apache2-utils ca-certificates buildah uidmap attr curl time mmdebstrap dpkg-dev pigz)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package starts a system registry on :5000; Slipway's tests and demo start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl stop docker-registry || true
fi
npm ci --no-audit --no-fund --loglevel=error
npm run build >/dev/null
