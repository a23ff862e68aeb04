#!/usr/bin/env bash
# Issue 16: a build on a real image, slipway `dimg build` against `buildah bud --layers`, in the same run.
# The workload (bench/realistic/): a Debian 12 minbase base (mmdebstrap --variant=minbase bookworm, ~9.5k
# files) served by a local docker-registry, both tools pulling it from there; a git repository of 3,077
# files (bench/realistic/make-tree.mjs, the same bytes every run) mapped with `add: / to: /app`;
# beforeInstall `apt-get update && apt-get install -y --no-install-recommends python3`; install reading
# /app/package.json (its stageDependencies); setup writing 5,000 files; docker WORKDIR and CMD.
# bench/realistic/Dockerfile is the same build for buildah (its header says where the COPYs go and why).
# Contenders:
#   slipway  `dimg build` (namespaces isolation: bubblewrap)
#   overlay  `buildah bud --layers --storage-driver overlay --isolation chroot`
#   vfs      the same with --storage-driver vfs (the second line)
# Cases, in this order for each contender:
#   cold     empty SLIPWAY_HOME and scratch dir / empty buildah root, base pull included
#   warm     the same commit again (nothing changed)
#   onefile  a commit changing src/lib00/index.js, under no stageDependencies: slipway makes only its git
#            patch and docker stages, buildah redoes the last COPY and what follows it
# slipway's --json report is checked after each warm (nothing built) and onefile (gitLatestPatch and docker
# built) case: a run that measured something else stops.
# Everything the tools write is on a journaled ext4 (bench/lib.sh journaled_workdir: a loop-mounted image
# when the temp dir's filesystem has no journal, as this machine's root has not): SLIPWAY_HOME,
# SLIPWAY_TMPDIR, buildah's --root and --runroot, TMPDIR of both, and the project. ROUNDS rounds (default
# 3) rotate the contenders' order; each timed build follows a `sync`. Prints medians, slipway/buildah
# ratios and peak RSS (GNU time %M: the largest process of the tool's tree), and slipway's seconds per
# stage (its --json report) in the cold build.
#
# apt and the network: the base image's apt goes through a caching HTTP proxy on loopback
# (bench/realistic/apt-proxy.mjs, /etc/apt/apt.conf.d/01bench-proxy in the base image). One untimed
# slipway build fills it from deb.debian.org before the rounds; every timed build of either tool then gets
# the same InRelease, package lists and .debs from loopback (the report counts the proxy's misses during
# the rounds: 0 when nothing slipped past). So the network's speed is in no timed figure, while both tools
# still run apt-get update/install (gpgv, unpacking, dpkg) for real.
#
#   bench/realistic.sh        (as root; needs docker-registry, skopeo, umoci, buildah, bwrap, mmdebstrap,
#                              git, node, curl, /usr/bin/time; ~10 min with the defaults)
# Environment: ROUNDS (3), CONTENDERS ("slipway overlay vfs"), CASES ("cold warm onefile"; warm and
# onefile seed with an untimed cold build when cold is left out), SLIPWAY_SRC (the slipway tree to
# measure, default this one; built privately into the temp dir), BENCH_CACHE (where the mmdebstrap
# tarball is kept between runs, /var/tmp/slipway-bench-cache), FS_MIB (size of the loop image, 16384),
# WARMUP=0 skips the warm-up build (the first timed cold builds then fetch from deb.debian.org),
# KEEP=1 keeps the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$ROOT/bench/realistic
SRC=$(cd "${SLIPWAY_SRC:-$ROOT}" && pwd)
ROUNDS=${ROUNDS:-3}
read -r -a CONTENDERS <<<"${CONTENDERS:-slipway overlay vfs}"
read -r -a CASES <<<"${CASES:-cold warm onefile}"
CACHE=${BENCH_CACHE:-/var/tmp/slipway-bench-cache}
TREE_FILES=3077

[ "$(id -u)" = 0 ] || { echo "realistic.sh: run as root (loop mount, buildah's storage, apt in the stages)" >&2; exit 2; }
for tool in docker-registry skopeo umoci buildah bwrap mmdebstrap git node curl; do
  command -v "$tool" >/dev/null || { echo "realistic.sh: $tool is not installed" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "realistic.sh: /usr/bin/time is not installed (the time package)" >&2; exit 2; }
for c in "${CONTENDERS[@]}"; do
  case $c in slipway | overlay | vfs) ;; *) echo "realistic.sh: unknown contender $c (slipway, overlay, vfs)" >&2; exit 2 ;; esac
done
for k in "${CASES[@]}"; do
  case $k in cold | warm | onefile) ;; *) echo "realistic.sh: unknown case $k (cold, warm, onefile)" >&2; exit 2 ;; esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-realistic.XXXXXX")
FS=$WORK/fs
PIDS=()
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# unmount_under DIR: whatever a tool left mounted under DIR, deepest first
unmount_under() {
  findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  unmount_under "$FS"
  if [ "${KEEP:-}" = 1 ]; then
    echo "kept $WORK; its journaled file system stays mounted: umount $FS && rm -rf $WORK when done" >&2
    return
  fi
  release_journaled_workdir
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT=$SRC private_slipway
start_registry "$WORK/registry"
PIDS+=("$REG_PID")
HOST=$REG_HOST
BASE=$HOST/base/debian:bookworm

# --- the base: a cached mmdebstrap tarball, made into an image that uses the loopback apt proxy ----------
DEBIAN_TAR=$CACHE/debian-bookworm-minbase.tar
if [ ! -f "$DEBIAN_TAR" ]; then
  log "mmdebstrap --variant=minbase bookworm into $DEBIAN_TAR (once; kept for the next runs)"
  mkdir -p "$CACHE"
  mmdebstrap --variant=minbase --format=tar --quiet bookworm "$DEBIAN_TAR.part" http://deb.debian.org/debian
  mv "$DEBIAN_TAR.part" "$DEBIAN_TAR"
fi
node "$HERE/apt-proxy.mjs" "$WORK/apt-cache" "$WORK/apt-proxy.port" >"$WORK/apt-proxy.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$WORK/apt-proxy.port" ] && break; sleep 0.05; done
[ -s "$WORK/apt-proxy.port" ] || { echo "realistic.sh: the apt proxy did not start (see $WORK/apt-proxy.log)" >&2; exit 2; }
log "base image $BASE"
"$HERE/make-debian-image.sh" "$DEBIAN_TAR" "$WORK/base" "http://127.0.0.1:$(cat "$WORK/apt-proxy.port")" >/dev/null
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$WORK/base:bookworm" "docker://$BASE"

# --- the journaled file system, and the project on it: two commits (seed, one source file changed) --------
journaled_workdir "$FS" "${FS_MIB:-16384}"
PROJECT=$FS/project
mkdir -p "$PROJECT"
sed "s#localhost:5000#$HOST#g" "$HERE/dappfile.yaml" >"$PROJECT/dappfile.yaml"
printf '.git\n' >"$PROJECT/.dockerignore"
EDITED=$(node "$HERE/make-tree.mjs" "$PROJECT" $((TREE_FILES - 2)))
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@slipway.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@slipway.invalid
git_in() { git -C "$PROJECT" -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }
commit_all() { git_in add -A; GIT_AUTHOR_DATE="@$1 +0000" GIT_COMMITTER_DATE="@$1 +0000" git_in commit -qm "$2"; git_in rev-parse HEAD; }
git_in init -q
SEED=$(commit_all 1700000000 seed)
files=$(git_in ls-files | wc -l)
[ "$files" = "$TREE_FILES" ] || { echo "realistic.sh: the project has $files files, not $TREE_FILES" >&2; exit 2; }
echo "// one source file changed" >>"$PROJECT/$EDITED"
ONEFILE=$(commit_all 1700000060 "one source file")
git_in checkout -q -B main "$SEED"
log "project: $files files in git, $(du -sm --exclude=.git "$PROJECT" | cut -f1) MiB; the one-file case edits $EDITED"

# --- contenders -------------------------------------------------------------------------------------------
# reset CONTENDER: its home, storage and scratch dirs empty
reset() {
  unmount_under "$FS/$1"
  rm -rf "${FS:?}/$1"
  mkdir -p "$FS/$1/home" "$FS/$1/tmp"
}
# build CONTENDER: one build of the checked-out commit, output to $WORK/build.log (slipway's --json report
# to $WORK/build.json), peak RSS to $WORK/rss
build() {
  local c=$1 dir=$FS/$1
  case $c in
    slipway)
      SLIPWAY_HOME=$dir/home SLIPWAY_TMPDIR=$dir/tmp TMPDIR=$dir/tmp NO_COLOR=1 \
        /usr/bin/time -f %M -o "$WORK/rss" "${SLIPWAY[@]}" dimg build --json --dir "$PROJECT" >"$WORK/build.json" 2>"$WORK/build.log" ;;
    overlay | vfs)
      TMPDIR=$dir/tmp /usr/bin/time -f %M -o "$WORK/rss" \
        buildah --root "$dir/home/root" --runroot "$dir/home/runroot" --storage-driver "$c" \
        bud --layers --isolation chroot --tls-verify=false --quiet \
        -f "$HERE/Dockerfile" --build-arg "BASE=$BASE" -t realistic "$PROJECT" >"$WORK/build.log" 2>&1 ;;
  esac || { echo "realistic.sh: $c failed:" >&2; tail -n 30 "$WORK/build.log" >&2; exit 2; }
}
# check_built CASE: slipway built what the case says it measures (warm: nothing; onefile: the git patch
# and docker stages only), or the run stops
check_built() {
  local built want
  built=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.dimgs.flatMap(d => d.stages).filter(s => s.status === "built").map(s => s.name).join(" "))' "$WORK/build.json")
  case $1 in warm) want= ;; onefile) want="gitLatestPatch docker" ;; *) return 0 ;; esac
  [ "$built" = "$want" ] || { echo "realistic.sh: slipway's $1 build made stages [$built], not [$want]" >&2; exit 2; }
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
mkdir -p "$WORK/logs"
# measure ROUND CONTENDER CASE: one timed build after a sync; its log kept in $WORK/logs (KEEP=1 to read)
measure() {
  local t0 t1 rss
  sync
  t0=$EPOCHREALTIME
  build "$2"
  t1=$EPOCHREALTIME
  rss=$(tail -n 1 "$WORK/rss")
  cp "$WORK/build.log" "$WORK/logs/$1-$2-$3.log"
  if [ "$2" = slipway ]; then
    cp "$WORK/build.json" "$WORK/logs/$1-$2-$3.json"
    check_built "$3"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(elapsed "$t0" "$t1")" "$rss" >>"$RESULTS"
  log "  round $1 $2 $3: $(elapsed "$t0" "$t1") s, peak RSS $((rss / 1024)) MiB"
}
has_case() { [[ " ${CASES[*]} " == *" $1 "* ]]; }

if [ "${WARMUP:-1}" != 0 ]; then
  log "warm-up: an untimed slipway build fills the apt proxy"
  reset warmup
  SLIPWAY_HOME=$FS/warmup/home SLIPWAY_TMPDIR=$FS/warmup/tmp TMPDIR=$FS/warmup/tmp NO_COLOR=1 \
    "${SLIPWAY[@]}" dimg build --dir "$PROJECT" >"$WORK/warmup.log" 2>&1 ||
    { echo "realistic.sh: the warm-up build failed:" >&2; tail -n 30 "$WORK/warmup.log" >&2; exit 2; }
  reset warmup
fi
proxy_mark=$(wc -l <"$WORK/apt-proxy.log")

started=$EPOCHREALTIME
for round in $(seq 1 "$ROUNDS"); do
  order=("${CONTENDERS[@]}")
  for _ in $(seq 2 "$round"); do order=("${order[@]:1}" "${order[0]}"); done
  for c in "${order[@]}"; do
    log "round $round/$ROUNDS, $c"
    git_in checkout -q -B main "$SEED"
    reset "$c"
    if has_case cold; then measure "$round" "$c" cold; else build "$c"; fi
    if has_case warm; then measure "$round" "$c" warm; fi
    if has_case onefile; then
      git_in checkout -q -B main "$ONEFILE"
      measure "$round" "$c" onefile
    fi
    reset "$c"
  done
done
log "timed part took $(elapsed "$started" "$EPOCHREALTIME") s"
misses=$(tail -n +"$((proxy_mark + 1))" "$WORK/apt-proxy.log" | grep -c '^miss' || true)
hits=$(tail -n +"$((proxy_mark + 1))" "$WORK/apt-proxy.log" | grep -c '^hit' || true)
node "$HERE/report.mjs" "$RESULTS" "$WORK/logs"
echo
echo "apt proxy during the rounds: $hits answers from the loopback cache, $misses fetched from deb.debian.org"
