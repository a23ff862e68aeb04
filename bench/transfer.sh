#!/usr/bin/env bash
# Issue 6: stages-cache transfer speed and memory, slipway against skopeo.
#
#   bench/transfer.sh            (builds src/ into its temp dir; needs docker-registry, skopeo, umoci, bwrap)
#
# Two projects are built once (not timed) against a local base registry:
#   big   one dimg, 4 shell stages, each writing 40 MiB of random data      (4 stage images with 40 MiB layers)
#   small 12 dimgs x 4 shell stages + 1 dimg x 2, each writing 1 MiB random (50 stage images with 1 MiB layers)
# Then, for ROUNDS rounds (default 3), alternating which tool goes first, each tool gets a fresh registry per
# project (so nothing can be mounted or found) and is timed on:
#   push         slipway: `dimg stages push REPO`         skopeo: one `skopeo copy oci:STORE:<stage> docker://REPO:dimgstage-<sig>` per stage
#   repush       (small only) the same push again with everything present
#   pull         slipway: `dimg stages pull --all REPO` into a fresh SLIPWAY_HOME
#                skopeo:  one `skopeo copy docker://REPO:dimgstage-<sig> oci:DIR:dimgstage-<sig>` per stage into a fresh DIR
# skopeo copies run one after the other, as a user's script would. slipway's peak RSS is what
# /usr/bin/time reports ("Maximum resident set size") for each slipway process.
# Prints per-case medians, slipway/skopeo ratios against the targets, and exits 1 when a target is missed.
#
# Environment: ROUNDS (3), BIG_BYTES (41943040), SMALL_BYTES (1048576), KEEP=1 keeps the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPERS=$ROOT/bench/transfer
ROUNDS=${ROUNDS:-3}
BIG_BYTES=${BIG_BYTES:-41943040}
SMALL_BYTES=${SMALL_BYTES:-1048576}

for tool in docker-registry skopeo umoci bwrap git curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "transfer.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-transfer.XXXXXX")
REGISTRY_PIDS=()
cleanup() {
  for pid in "${REGISTRY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${REGISTRY_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# --- registries --------------------------------------------------------------------------------------
# named_registry NAME: a registry with its own storage under $WORK/registry-NAME (bench/lib.sh start_registry)
named_registry() {
  start_registry "$WORK/registry-$1"
  REGISTRY_PIDS+=("$REG_PID")
}

stop_registry() {
  local dir=$WORK/registry-$1 pid
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

# API requests in a registry's access log (total and HEAD), to count what one run sent
requests() { grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2' "$1" || true; }
heads() { grep -cE '"HEAD /v2' "$1" || true; }

SKOPEO=(skopeo --insecure-policy)

private_slipway

# --- base image and projects (not timed) ----------------------------------------------------------------
log "base registry and busybox base image"
named_registry base
BASE_HOST=$REG_HOST
"$ROOT/fixtures/make-base-image.sh" "$WORK/base-layout" latest
"${SKOPEO[@]}" copy --quiet --dest-tls-verify=false "oci:$WORK/base-layout:latest" "docker://$BASE_HOST/base/busybox:latest"

# shell_dimg NAME STAGE... : a dappfile document whose shell stages each write SIZE random bytes to /data/NAME-STAGE
shell_dimg() {
  local name=$1 size=$2
  shift 2
  printf -- '---\ndimg: %s\nfrom: %s/base/busybox:latest\nshell:\n' "$name" "$BASE_HOST"
  for stage in "$@"; do
    printf '  %s:\n    - mkdir -p /data && head -c %s /dev/urandom > /data/%s-%s\n' "$stage" "$size" "$name" "$stage"
  done
}

make_project() {
  local dir=$1
  mkdir -p "$dir"
  (cd "$dir" && echo "bench project" >README && git -c init.defaultBranch=main init -q && git add README &&
    git -c user.name=bench -c user.email=bench@slipway.invalid -c commit.gpgsign=false commit -qm init)
}

STAGES=(beforeInstall install beforeSetup setup)
make_project "$WORK/big"
shell_dimg big "$BIG_BYTES" "${STAGES[@]}" >"$WORK/big/dappfile.yaml"
make_project "$WORK/small"
{
  for i in $(seq -w 1 12); do shell_dimg "d$i" "$SMALL_BYTES" "${STAGES[@]}"; done
  shell_dimg d13 "$SMALL_BYTES" beforeInstall install
} >"$WORK/small/dappfile.yaml"

for project in big small; do
  log "building $project (not timed)"
  SLIPWAY_HOME=$WORK/home-$project "${SLIPWAY[@]}" dimg build --dir "$WORK/$project" >"$WORK/build-$project.log" 2>&1 ||
    { cat "$WORK/build-$project.log" >&2; exit 2; }
  node "$HELPERS/stage-refs.mjs" "$WORK/home-$project" >"$WORK/stages-$project"
  log "  $(wc -l <"$WORK/stages-$project") stage images"
done

# the big project's layers (files over 10 MiB in its store), for the curl floor
mapfile -t BIG_BLOBS < <(find "$WORK/home-big/store/blobs/sha256" -type f -size +10M -printf '%f\n')

# --- timed runs ----------------------------------------------------------------------------------------
RESULTS=$WORK/results.tsv
: >"$RESULTS"

# record ROUND CASE TOOL SECONDS RSS_KB LOG REQUESTS_BEFORE HEADS_BEFORE
record() {
  local req hd
  req=$(( $(requests "$6") - $7 ))
  hd=$(( $(heads "$6") - $8 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$req" "$hd" >>"$RESULTS"
  log "  round $1 $2 $3: $4 s, rss ${5} KB, $req requests ($hd HEAD)"
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# slipway_timed ROUND CASE HOME ARGS...: one slipway process, timed, its peak RSS from /usr/bin/time
slipway_timed() {
  local round=$1 kase=$2 home=$3 r0 h0 t0 t1
  shift 3
  r0=$(requests "$REG_LOG"); h0=$(heads "$REG_LOG")
  t0=$EPOCHREALTIME
  SLIPWAY_HOME=$home NO_COLOR=1 /usr/bin/time -f '%M' -o "$WORK/rss" "${SLIPWAY[@]}" "$@" >"$WORK/slipway.out" 2>&1 ||
    { cat "$WORK/slipway.out" >&2; exit 2; }
  t1=$EPOCHREALTIME
  record "$round" "$kase" slipway "$(elapsed "$t0" "$t1")" "$(tail -n 1 "$WORK/rss")" "$REG_LOG" "$r0" "$h0"
}

# curl_floor ROUND REPO: the 40 MiB layers moved by curl alone, all at once (no hashing, no fsync, no
# start-up): what the registry and the kernel cost, the part of a big transfer no client can avoid;
# then pulled by Node.js alone (node-floor.mjs): what the runtime adds before slipway does anything
curl_floor() {
  local round=$1 repo=$2 t0 t1 blob
  local pids=()
  local host=${repo%%/*} path=${repo#*/}
  t0=$EPOCHREALTIME
  for blob in "${BIG_BLOBS[@]}"; do
    (loc=$(curl -fsS -D - -o /dev/null -X POST "http://$host/v2/$path-floor/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
     case $loc in http*) ;; *) loc=http://$host$loc ;; esac
     curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T "$WORK/home-big/store/blobs/sha256/$blob" "$loc&digest=sha256:$blob") &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare wait: the registries run in the background too
  t1=$EPOCHREALTIME
  printf '%s\t%s\t%s\t%s\t-\t0\t0\n' "$round" floor-push-big curl "$(elapsed "$t0" "$t1")" >>"$RESULTS"
  mkdir -p "$WORK/floor"
  t0=$EPOCHREALTIME
  pids=()
  for blob in "${BIG_BLOBS[@]}"; do
    curl -fsS -o "$WORK/floor/$blob" "http://$host/v2/$path/blobs/sha256:$blob" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$EPOCHREALTIME
  rm -rf "$WORK/floor"
  printf '%s\t%s\t%s\t%s\t-\t0\t0\n' "$round" floor-pull-big curl "$(elapsed "$t0" "$t1")" >>"$RESULTS"
  # the same download inside one Node.js process through undici, without and with sha256
  printf '%s\t%s\t%s\t%s\t-\t0\t0\n' "$round" floor-pull-big node "$(node "$HELPERS/node-floor.mjs" "http://$host/v2/$path" "${BIG_BLOBS[@]}")" >>"$RESULTS"
  printf '%s\t%s\t%s\t%s\t-\t0\t0\n' "$round" floor-pull-big node-sha256 "$(node "$HELPERS/node-floor.mjs" --hash "http://$host/v2/$path" "${BIG_BLOBS[@]}")" >>"$RESULTS"
}

run_slipway() {
  local round=$1 project=$2 repo
  named_registry "slipway-$project"
  repo=$REG_HOST/$project
  slipway_timed "$round" "push-$project" "$WORK/home-$project" dimg stages push --dir "$WORK/$project" "$repo"
  if [ "$project" = small ]; then
    slipway_timed "$round" "repush-$project" "$WORK/home-$project" dimg stages push --dir "$WORK/$project" "$repo"
  fi
  rm -rf "$WORK/pulled-home"
  mkdir -p "$WORK/pulled-home"
  slipway_timed "$round" "pull-$project" "$WORK/pulled-home" dimg stages pull --all --dir "$WORK/$project" "$repo"
  cmp -s <(node "$HELPERS/stage-refs.mjs" "$WORK/pulled-home") "$WORK/stages-$project" ||
    { echo "transfer.sh: slipway pulled a different set of stages" >&2; exit 2; }
  rm -rf "$WORK/pulled-home"
  [ "$project" = big ] && curl_floor "$round" "$repo"
  stop_registry "slipway-$project"
}

# skopeo_copies DIRECTION REPO LAYOUT: one skopeo copy per stage image, sequentially
skopeo_copies() {
  local direction=$1 repo=$2 layout=$3 name sig
  while read -r name sig; do
    if [ "$direction" = push ]; then
      "${SKOPEO[@]}" copy --quiet --dest-tls-verify=false "oci:$layout:$name" "docker://$repo:dimgstage-$sig"
    else
      "${SKOPEO[@]}" copy --quiet --src-tls-verify=false "docker://$repo:dimgstage-$sig" "oci:$layout:dimgstage-$sig"
    fi
  done
}

skopeo_timed() {
  local round=$1 kase=$2 direction=$3 repo=$4 layout=$5 stages=$6 r0 h0 t0 t1
  r0=$(requests "$REG_LOG"); h0=$(heads "$REG_LOG")
  t0=$EPOCHREALTIME
  skopeo_copies "$direction" "$repo" "$layout" <"$stages"
  t1=$EPOCHREALTIME
  record "$round" "$kase" skopeo "$(elapsed "$t0" "$t1")" - "$REG_LOG" "$r0" "$h0"
}

run_skopeo() {
  local round=$1 project=$2 repo
  named_registry "skopeo-$project"
  repo=$REG_HOST/$project
  skopeo_timed "$round" "push-$project" push "$repo" "$WORK/home-$project/store" "$WORK/stages-$project"
  if [ "$project" = small ]; then
    skopeo_timed "$round" "repush-$project" push "$repo" "$WORK/home-$project/store" "$WORK/stages-$project"
  fi
  rm -rf "$WORK/pulled-oci"
  skopeo_timed "$round" "pull-$project" pull "$repo" "$WORK/pulled-oci" "$WORK/stages-$project"
  rm -rf "$WORK/pulled-oci"
  stop_registry "skopeo-$project"
}

started=$EPOCHREALTIME
for round in $(seq 1 "$ROUNDS"); do
  # for reference: a slipway process that plans the small project and sends nothing
  REG_LOG=/dev/null
  slipway_timed "$round" startup "$WORK/home-small" dimg stages push --dry-run --dir "$WORK/small" 127.0.0.1:9/small
  for project in big small; do
    log "round $round/$ROUNDS, $project"
    if [ $(( round % 2 )) = 1 ]; then
      run_slipway "$round" "$project"; run_skopeo "$round" "$project"
    else
      run_skopeo "$round" "$project"; run_slipway "$round" "$project"
    fi
  done
done
log "timed part took $(elapsed "$started" "$EPOCHREALTIME") s"

node_start() { local t0=$EPOCHREALTIME; node -e 0; elapsed "$t0" "$EPOCHREALTIME"; }
NODE_START=$(for _ in 1 2 3 4 5; do node_start; echo; done | sort -n | sed -n 3p) node "$HELPERS/report.mjs" "$RESULTS"
