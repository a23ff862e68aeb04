#!/bin/sh
# Makes the Debian base image of bench/realistic.sh: an mmdebstrap root tarball as a one-layer OCI image
# layout, with umoci and no daemon (as fixtures/make-base-image.sh does for busybox).
#   bench/realistic/make-debian-image.sh ROOT_TAR OUT_LAYOUT_DIR [APT_PROXY_URL]
# /dev is left out (a container runtime provides it; image layers carry no device nodes). With
# APT_PROXY_URL, /etc/apt/apt.conf.d/01bench-proxy points apt at it (the bench's loopback apt cache).
set -eu

tar=${1:?usage: make-debian-image.sh ROOT_TAR OUT_LAYOUT_DIR [APT_PROXY_URL]}
out=${2:?usage: make-debian-image.sh ROOT_TAR OUT_LAYOUT_DIR [APT_PROXY_URL]}
proxy=${3:-}
created=$(date -u -d "@${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%dT%H:%M:%SZ)

work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-debian-image.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
bundle=$work/bundle

umoci init --layout "$out"
umoci new --image "$out:bookworm"
umoci config --image "$out:bookworm" --no-history --created "$created" --architecture amd64 --os linux \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd /bin/bash
umoci unpack --image "$out:bookworm" "$bundle"
tar --numeric-owner -xpf "$tar" -C "$bundle/rootfs" --exclude='./dev/*'
if [ -n "$proxy" ]; then
  printf 'Acquire::http::Proxy "%s";\n' "$proxy" >"$bundle/rootfs/etc/apt/apt.conf.d/01bench-proxy"
fi
umoci repack --image "$out:bookworm" --history.created "$created" \
  --history.created_by "bench/realistic/make-debian-image.sh: mmdebstrap --variant=minbase bookworm" "$bundle"
umoci gc --layout "$out"
