#!/usr/bin/env bash
# Issue 16: layer compression on every core, deterministic. On a real ~200 MB layer (a Debian 12 minbase
# root with python3, made once with mmdebstrap and cached), for ROUNDS rounds (default 3), alternating the
# order of the contenders each round:
#   slipway   slipway's layer compression (fixed 1 MiB chunks deflated in worker threads, one gzip member),
#             both digests taken on the way as the layer writer does
#   single    the same through one zlib gzip stream at the same level (slipway before issue 16)
#   gzip      gzip -6        pigz      pigz -6 (all cores)
# and slipway's whole layer writer on the unpacked root (tar + digests + compression), gzip and none. Then the
# upload of the gzip blob and of the uncompressed tar to a local registry (curl, one monolithic PUT), for
# the alternative of storing layers uncompressed and compressing on push. Prints medians, output sizes,
# ratios and CPU seconds (this machine is shared: CPU time says what wall time cannot under load), and checks that every round of slipway wrote the same bytes, also with SLIPWAY_GZIP_WORKERS=1.
#
#   bench/compress.sh        (as root for mmdebstrap the first time; needs node, gzip, pigz, curl, docker-registry)
#
# Environment: ROUNDS (3), BENCH_CACHE (/var/tmp/slipway-bench-cache, as bench/realistic.sh: the cached root and tar), KEEP=1
# keeps the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
CACHE=${BENCH_CACHE:-/var/tmp/slipway-bench-cache}
for tool in node gzip pigz curl docker-registry mmdebstrap sha256sum; do
  command -v "$tool" >/dev/null || { echo "compress.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-compress.XXXXXX")
REG_PID=
cleanup() {
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# --- the layer: a Debian root with python3, and its tar --------------------------------------------
DEB_ROOT=$CACHE/debian-bookworm-python3.root
DEB_TAR=$CACHE/debian-bookworm-python3.tar
if [ ! -f "$DEB_TAR" ]; then
  log "making $DEB_TAR with mmdebstrap (once; cached)"
  mkdir -p "$CACHE"
  rm -rf "$DEB_ROOT.part"
  mmdebstrap --quiet --variant=minbase --include=python3 --format=directory bookworm "$DEB_ROOT.part" http://deb.debian.org/debian
  rm -rf "$DEB_ROOT" && mv "$DEB_ROOT.part" "$DEB_ROOT"
  tar --numeric-owner --sort=name -C "$DEB_ROOT" -cf "$DEB_TAR.part" . && mv "$DEB_TAR.part" "$DEB_TAR"
fi
TAR_BYTES=$(stat -c %s "$DEB_TAR")
log "layer: $DEB_TAR ($TAR_BYTES bytes, $(find "$DEB_ROOT" | wc -l) files)"

private_slipway
DIST=$WORK/slipway/dist
RUN=("$(command -v node)" "$ROOT/bench/compress/run.mjs" "$DIST")

# --- runners: each appends "seconds bytes cpu-seconds" to $WORK/<name>.times ---------------------------
now() { date +%s.%N; }
record() { local name=$1; shift; echo "$*" >>"$WORK/$name.times"; }
timed_shell() { # NAME OUT COMMAND...: time a shell compressor writing OUT
  local name=$1 out=$2 t0 t1
  shift 2
  /usr/bin/time -o "$WORK/time.out" -f '%e %U %S' "$@" <"$DEB_TAR" >"$out"
  record "$name" "$(awk -v bytes="$(stat -c %s "$out")" '{ print $1, bytes, $2 + $3 }' "$WORK/time.out")"
}
timed_node() { # NAME ARGS...: a run.mjs mode
  local name=$1 line
  shift
  line=$("${RUN[@]}" "$@")
  record "$name" "$(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.seconds, r.bytes, r.cpu)' "$line")"
}
run_one() {
  local round=$1
  case $2 in
    slipway) timed_node slipway parallel "$DEB_TAR" "$WORK/slipway-$round.gz"; sha256sum <"$WORK/slipway-$round.gz" >>"$WORK/slipway.sums" ;;
    single) timed_node single single "$DEB_TAR" "$WORK/single.gz" ;;
    gzip) timed_shell gzip "$WORK/gzip.gz" gzip -6 -c ;;
    pigz) timed_shell pigz "$WORK/pigz.gz" pigz -6 -c ;;
    write-gzip) timed_node write-gzip write "$DEB_ROOT" "$WORK/layer.tar.gz" gzip ;;
    write-none) timed_node write-none write "$DEB_ROOT" "$WORK/layer.tar" none ;;
  esac
}

CONTENDERS=(slipway single gzip pigz write-gzip write-none)
for round in $(seq "$ROUNDS"); do
  order=("${CONTENDERS[@]}")
  if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#CONTENDERS[@]} - 1; i >= 0; i--)); do order+=("${CONTENDERS[$i]}"); done; fi
  log "round $round: ${order[*]}"
  for c in "${order[@]}"; do run_one "$round" "$c"; done
done
SLIPWAY_GZIP_WORKERS=1 "${RUN[@]}" parallel "$DEB_TAR" "$WORK/slipway-one-worker.gz" >/dev/null
sha256sum <"$WORK/slipway-one-worker.gz" >>"$WORK/slipway.sums"
gzip -t "$WORK/slipway-1.gz"
zcat "$WORK/slipway-1.gz" | cmp -s - "$DEB_TAR" || { echo "compress.sh: slipway's gzip does not unpack to the tar" >&2; exit 1; }
SAME=$(sort -u "$WORK/slipway.sums" | wc -l)

# --- push: the gzip blob against the uncompressed tar -------------------------------------------------
start_registry "$WORK/registry"
upload() { # FILE: seconds to upload FILE as a blob (POST, then one PUT of the whole file)
  local file=$1 digest location t0 t1
  digest=sha256:$(sha256sum <"$file" | cut -d' ' -f1)
  t0=$(now)
  location=$(curl -sf -X POST -D - -o /dev/null "http://$REG_HOST/v2/bench/compress/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $location in http*) ;; *) location=http://$REG_HOST$location ;; esac
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" -o /dev/null "$location&digest=$digest"
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
  curl -sf -X DELETE -o /dev/null "http://$REG_HOST/v2/bench/compress/blobs/$digest" || true
}
for round in $(seq "$ROUNDS"); do
  record push-gzip "$(upload "$WORK/layer.tar.gz")" "$(stat -c %s "$WORK/layer.tar.gz")" 0
  record push-none "$(upload "$WORK/layer.tar")" "$(stat -c %s "$WORK/layer.tar")" 0
done

node "$ROOT/bench/compress/report.mjs" "$WORK" "$TAR_BYTES" "$SAME"
