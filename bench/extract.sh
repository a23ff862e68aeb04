#!/usr/bin/env bash
# Issue 16: unpacking a layer, slipway's extractor against GNU tar, and slipway's whole-root walks.
#
#   bench/extract.sh            (builds src/ into its work dir; needs mmdebstrap on the first run, root for the loop mount)
#
# Two gzip layers, made once and kept in $CACHE:
#   debian  a Debian 12 minbase root (`mmdebstrap --variant=minbase bookworm`, ~9k entries, ~180 MB)
#   small   5,000 files of 0-2 KiB in 50 directories
# Both are unpacked on a journaled ext4 (bench/lib.sh journaled_workdir: this machine's root filesystem has no
# journal, which makes per-file costs unlike a CI runner's), for ROUNDS rounds (default 3), alternating which
# tool goes first, each into a fresh directory after a sync:
#   slipway  node bench/extract/unpack.mjs DIST extract LAYER ROOT (dist/layer/extract.js, what a build runs)
#   tar      tar -xzf LAYER -C ROOT
# Then slipway's two walks of a shell stage (snapshot before, diff after) over the unpacked Debian root,
# beside `find -printf` of the same metadata as a reference. Times are wall clock of the whole process
# (node's start included); peak RSS is /usr/bin/time's. Prints medians and the slipway/tar ratios, and
# exits 1 when a ratio is over TARGET (1.5).
#
# Environment: ROUNDS (3), TARGET (1.5), WORK (${TMPDIR:-/tmp}/slipway-bench-extract, kept between runs for
# $WORK/cache), MIRROR (http://deb.debian.org/debian), FS_MIB (3072, the loop image's size).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
TARGET=${TARGET:-1.5}
WORK=${WORK:-${TMPDIR:-/tmp}/slipway-bench-extract}
CACHE=$WORK/cache
MIRROR=${MIRROR:-http://deb.debian.org/debian}
FS=$WORK/fs

for tool in node tar gzip find /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "extract.sh: $tool is not installed" >&2; exit 2; }
done

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
cleanup() {
  rm -rf "${FS:?}"/* 2>/dev/null || true
  release_journaled_workdir
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$CACHE"
rm -rf "$WORK/slipway"
private_slipway

# --- layers ------------------------------------------------------------------------------------------
if [ ! -f "$CACHE/debian.tar.gz" ]; then
  command -v mmdebstrap >/dev/null || { echo "extract.sh: mmdebstrap is not installed (needed once, to make $CACHE/debian.tar.gz)" >&2; exit 2; }
  log "making the Debian minbase layer with mmdebstrap"
  mmdebstrap --quiet --variant=minbase bookworm "$CACHE/debian.tar" "$MIRROR"
  gzip -6 "$CACHE/debian.tar"
fi
if [ ! -f "$CACHE/small.tar.gz" ]; then
  log "making the 5,000-small-files layer"
  tree=$CACHE/small-tree
  rm -rf "$tree"
  for d in $(seq 0 49); do mkdir -p "$tree/dir$d"; done
  pad=$(printf '%2048s' '')
  for i in $(seq 0 4999); do printf '%d %s\n' "$i" "${pad:0:$(((i * 7919) % 2048))}" >"$tree/dir$((i % 50))/file$i.txt"; done
  tar --numeric-owner -C "$tree" -czf "$CACHE/small.tar.gz.part" .
  mv "$CACHE/small.tar.gz.part" "$CACHE/small.tar.gz"
  rm -rf "$tree"
fi

journaled_workdir "$FS" "${FS_MIB:-3072}"

# --- runs --------------------------------------------------------------------------------------------
DRIVER=("$(command -v node)" "$ROOT/bench/extract/unpack.mjs" "$WORK/slipway/dist")
declare -A SECONDS_OF RSS_OF # "layer tool" -> space-separated values
declare -A INSIDE # layer -> extractLayer's own seconds (without node's start), space-separated
PHASES=() # "snapshot diff" seconds inside each walk run

# timed LAYER TOOL CMD...: runs CMD (after a sync, so the last run's writeback is not this one's), appends its
# wall seconds and peak RSS (MiB); its output is left in $WORK/out
timed() {
  local key="$1 $2" start end
  shift 2
  sync
  start=$(date +%s%N)
  /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/out"
  end=$(date +%s%N)
  SECONDS_OF[$key]+="$(awk -v ns=$((end - start)) 'BEGIN {printf "%.3f", ns / 1e9}') "
  RSS_OF[$key]+="$(awk '{printf "%.0f", $1 / 1024}' "$WORK/rss") "
}

last() { local xs=($1); echo "${xs[-1]}"; }

unpack() { # LAYER TOOL
  local layer=$CACHE/$1.tar.gz dest=$FS/$1-$2
  rm -rf "$dest"
  mkdir -p "$dest"
  case $2 in
    slipway)
      timed "$1" slipway "${DRIVER[@]}" extract "$layer" "$dest"
      INSIDE[$1]+="$(sed -E 's/.*"extract":([0-9.]+).*/\1/' "$WORK/out") "
      ;;
    tar) timed "$1" tar tar -xzf "$layer" -C "$dest" ;;
  esac
}

for round in $(seq "$ROUNDS"); do
  for layer in debian small; do
    if [ $((round % 2)) = 1 ]; then order=(slipway tar); else order=(tar slipway); fi
    for tool in "${order[@]}"; do unpack "$layer" "$tool"; done
    log "round $round $layer: slipway $(last "${SECONDS_OF[$layer slipway]}") s, tar $(last "${SECONDS_OF[$layer tar]}") s"
  done
  # the walks a shell stage makes over its root: snapshot before, diff after (here: nothing changed)
  timed walk slipway "${DRIVER[@]}" walk "$FS/debian-slipway"
  PHASES+=("$(sed -E 's/.*"snapshot":([0-9.]+),"diff":([0-9.]+).*/\1 \2/' "$WORK/out")")
  timed walk find find "$FS/debian-slipway" -printf '%i %m %U %G %s %T@ %C@ %n %l\n'
done

# --- report ------------------------------------------------------------------------------------------
report() { # LABEL KEY_A KEY_B: median seconds of both, the ratio, and whether it meets TARGET
  node --input-type=module -e '
    import {median} from "'"$ROOT"'/bench/median.mjs"
    const [label, a, b, aRss, bRss, target, gate] = process.argv.slice(1)
    const nums = s => s.trim().split(/\s+/).map(Number)
    const [ma, mb] = [median(nums(a)), median(nums(b))]
    const ratio = ma / mb
    const verdict = gate === "1" ? (ratio <= Number(target) ? `  (target <= ${target}: met)` : `  (target <= ${target}: MISSED)`) : ""
    console.log(`${label.padEnd(26)} ${ma.toFixed(2).padStart(6)} s  ${mb.toFixed(2).padStart(6)} s  ${ratio.toFixed(2).padStart(5)}x  rss ${median(nums(aRss))} / ${median(nums(bRss))} MiB${verdict}`)
    if (gate === "1" && !(ratio <= Number(target))) process.exitCode = 1
  ' "$@"
}

printf '\n%s rounds on a journaled ext4; medians                slipway    peer   ratio\n' "$ROUNDS"
status=0
report "debian minbase vs tar -xzf" "${SECONDS_OF[debian slipway]}" "${SECONDS_OF[debian tar]}" "${RSS_OF[debian slipway]}" "${RSS_OF[debian tar]}" "$TARGET" 1 || status=1
report "5,000 small files vs tar" "${SECONDS_OF[small slipway]}" "${SECONDS_OF[small tar]}" "${RSS_OF[small slipway]}" "${RSS_OF[small tar]}" "$TARGET" 1 || status=1
report "walks vs find -printf" "${SECONDS_OF[walk slipway]}" "${SECONDS_OF[walk find]}" "${RSS_OF[walk slipway]}" "${RSS_OF[walk find]}" "$TARGET" 0
node --input-type=module -e '
  import {median} from "'"$ROOT"'/bench/median.mjs"
  const [debian, small, ...walks] = process.argv.slice(1)
  const nums = s => s.trim().split(/\s+/).map(Number)
  const runs = walks.map(l => l.split(" ").map(Number))
  console.log(`  inside the process (node starting not counted): extractLayer ${median(nums(debian)).toFixed(2)} s (debian), ${median(nums(small)).toFixed(2)} s (small); snapshot ${median(runs.map(r => r[0])).toFixed(3)} s, diff ${median(runs.map(r => r[1])).toFixed(3)} s`)
' "${INSIDE[debian]}" "${INSIDE[small]}" "${PHASES[@]}"
exit $status
