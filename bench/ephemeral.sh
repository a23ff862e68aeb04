#!/usr/bin/env bash
# Issue 15: an ephemeral CI runner (nothing on disk) building and publishing against a registry that holds
# the previous pipeline's cache. Three contenders, each an empty runner per run:
#   native   slipway `dimg bp --with-stages REPO` on a fresh SLIPWAY_HOME (registry-native)
#   pull     slipway `dimg stages pull REPO` then `dimg bp --with-stages REPO` on a fresh SLIPWAY_HOME
#   buildah  `buildah bud --layers --cache-from REPO/cache --cache-to REPO/cache` per image, then
#            `buildah push`, on a fresh buildah root (vfs storage, chroot isolation, as bench/build.sh)
# on two projects:
#   example  fixtures/example (bench/Dockerfile.example for buildah) on the busybox base
#   heavy    fixtures/heavy (bench/Dockerfile.heavy): 64+24+8 MiB of random stage layers on a base that
#            carries an 8 MiB random layer
# and three cases, run in this order on a REPO that the contender seeded (untimed) at the first commit:
#   nochange  the same commit again
#   source    a commit changing only git-mapped files outside every stageDependencies
#             (example: worker/worker.sh; heavy: src/main.txt)
#   deps      a commit changing a stageDependencies file (example: server/httpd.conf; heavy: src/deps.txt)
# Each (round, project, contender) has its own REPO, so no contender finds another's pushes. ROUNDS rounds
# (default 3) alternate the contenders' order. Times are wall clock; bytes are counted from the registry's
# access log and storage (bench/ephemeral/traffic.mjs, the tests' parser): blob bytes downloaded (layers
# and configs), of them layer bytes, and blob bytes uploaded. "stage bytes" is the summed size of the
# distinct layers of REPO's stage images (slipway's dimgstage-* tags, buildah's cache tags) before the run.
# Prints medians per case and contender and the issue's targets:
#   nochange native time <= 0.3 x nochange pull time;  native downloads < 1% of the stage bytes (nochange, source)
#
#   bench/ephemeral.sh        (as root; needs docker-registry, skopeo, umoci, buildah, bwrap, git, node)
# Environment: ROUNDS (3), PROJECTS ("example heavy"), CONTENDERS ("native pull buildah"), KEEP=1 keeps the
# temp dir. Builds a private copy of slipway from src/ first (another `npm run build` cannot pull it away).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPERS=$ROOT/bench/ephemeral
ROUNDS=${ROUNDS:-3}
read -r -a PROJECTS <<<"${PROJECTS:-example heavy}"
read -r -a CONTENDERS <<<"${CONTENDERS:-native pull buildah}"

for tool in docker-registry skopeo umoci buildah bwrap git curl node; do
  command -v "$tool" >/dev/null || { echo "ephemeral.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-ephemeral.XXXXXX")
REGISTRY_PID=
cleanup() {
  if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

private_slipway
start_registry "$WORK/registry"
REGISTRY_PID=$REG_PID
HOST=$REG_HOST
URL=http://$HOST

log "base images"
SOURCE_DATE_EPOCH=0 "$ROOT/fixtures/make-base-image.sh" "$WORK/base-busybox" >/dev/null
SOURCE_DATE_EPOCH=0 BASE_DATA_BYTES=$((8 * 1024 * 1024)) "$ROOT/fixtures/make-base-image.sh" "$WORK/base-heavy" >/dev/null
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$WORK/base-busybox:latest" "docker://$HOST/base/busybox:latest"
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$WORK/base-heavy:latest" "docker://$HOST/base/heavy:latest"

traffic() { node "$HELPERS/traffic.mjs" "$1" "$URL" "$REG_LOG" "$REG_STORAGE" "${@:2}"; }

# --- projects: three commits each (seed, source-only change, dependency change) --------------------------
# project_commits NAME: makes $WORK/NAME a git repository and sets C_SEED, C_SOURCE, C_DEPS for it
declare -A COMMIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@slipway.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@slipway.invalid
git_in() { (cd "$WORK/$1" && shift && git -c init.defaultBranch=main -c commit.gpgsign=false "$@"); }
commit_all() { git_in "$1" add -A; GIT_AUTHOR_DATE="@$2 +0000" GIT_COMMITTER_DATE="@$2 +0000" git_in "$1" commit -qm "$3"; git_in "$1" rev-parse HEAD; }
make_project() {
  local name=$1 dir=$WORK/$1
  cp -r "$ROOT/fixtures/$name" "$dir"
  sed -i "s#localhost:5000#$HOST#g" "$dir/dappfile.yaml"
  printf '.git\n' >"$dir/.dockerignore"
  git_in "$name" init -q
  COMMIT[$name-nochange]=$(commit_all "$name" 1700000000 seed)
  case $name in
    example) printf '#!/bin/sh\necho "worker v2"\n' >"$dir/worker/worker.sh" ;;
    heavy) echo "heavy v2" >"$dir/src/main.txt" ;;
  esac
  COMMIT[$name-source]=$(commit_all "$name" 1700000060 "source only")
  case $name in
    example) printf '.txt:text/plain\n' >>"$dir/server/httpd.conf" ;;
    heavy) echo "deps v2" >"$dir/src/deps.txt" ;;
  esac
  COMMIT[$name-deps]=$(commit_all "$name" 1700000120 "dependency change")
}
for p in "${PROJECTS[@]}"; do make_project "$p"; done

declare -A TARGETS=([example]="web worker" [heavy]="heavy")
declare -A BASES=([example]="$HOST/base/busybox:latest" [heavy]="$HOST/base/heavy:latest")

# --- one run of a contender on an empty runner ---------------------------------------------------------
# run_contender CONTENDER PROJECT REPO: a fresh runner builds and publishes the project's checked-out commit
run_contender() {
  local contender=$1 project=$2 repo=$3 home=$WORK/runner target
  rm -rf "$home" "$WORK/buildah-root" "$WORK/buildah-runroot"
  mkdir -p "$home"
  case $contender in
    native)
      SLIPWAY_HOME=$home NO_COLOR=1 "${SLIPWAY[@]}" dimg bp --with-stages --dir "$WORK/$project" "$repo" ;;
    pull)
      SLIPWAY_HOME=$home NO_COLOR=1 "${SLIPWAY[@]}" dimg stages pull --dir "$WORK/$project" "$repo" &&
        SLIPWAY_HOME=$home NO_COLOR=1 "${SLIPWAY[@]}" dimg bp --with-stages --dir "$WORK/$project" "$repo" ;;
    buildah)
      for target in ${TARGETS[$project]}; do
        buildah --root "$WORK/buildah-root" --runroot "$WORK/buildah-runroot" --storage-driver vfs \
          bud --layers --isolation chroot --tls-verify=false --quiet \
          --cache-from "$repo/cache" --cache-to "$repo/cache" \
          -f "$ROOT/bench/Dockerfile.$project" --build-arg "BASE=${BASES[$project]}" --target "$target" -t "$repo/$target:latest" \
          "$WORK/$project" &&
          buildah --root "$WORK/buildah-root" --runroot "$WORK/buildah-runroot" --storage-driver vfs \
            push --tls-verify=false --quiet "$repo/$target:latest" "docker://$repo/$target:latest" || return 1
      done ;;
  esac
}

stage_prefix() { if [ "$1" = buildah ]; then echo ""; else echo dimgstage-; fi; }
stage_repo() { if [ "$1" = buildah ]; then echo "$2/cache"; else echo "$2"; fi; }

RESULTS=$WORK/results.tsv
: >"$RESULTS"

# measure ROUND PROJECT CASE CONTENDER REPO_PATH: one timed run, its traffic and the stage bytes before it
measure() {
  local round=$1 project=$2 kase=$3 contender=$4 path=$5 stage_bytes mark t0 t1 down layers up requests
  git_in "$project" checkout -q -B main "${COMMIT[$project-$kase]}"
  stage_bytes=$(traffic layer-bytes "$(stage_repo "$contender" "$path")" "$(stage_prefix "$contender")")
  mark=$(traffic mark)
  t0=$EPOCHREALTIME
  run_contender "$contender" "$project" "$HOST/$path" >"$WORK/run.log" 2>&1 ||
    { echo "ephemeral.sh: $contender failed on $project ($kase):" >&2; tail -n 30 "$WORK/run.log" >&2; exit 2; }
  t1=$EPOCHREALTIME
  read -r down layers up requests < <(traffic since "$mark")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$project" "$kase" "$contender" "$(elapsed "$t0" "$t1")" \
    "$down" "$layers" "$up" "$stage_bytes" "$requests" >>"$RESULTS"
  log "  round $round $project $kase $contender: $(elapsed "$t0" "$t1") s, down $down (layers $layers), up $up, stage bytes $stage_bytes"
}

started=$EPOCHREALTIME
for round in $(seq 1 "$ROUNDS"); do
  order=("${CONTENDERS[@]}")
  # alternate who goes first: rotate the list by the round number
  for _ in $(seq 2 "$round"); do order=("${order[@]:1}" "${order[0]}"); done
  for project in "${PROJECTS[@]}"; do
    for contender in "${order[@]}"; do
      log "round $round/$ROUNDS, $project, $contender"
      path=r$round-$contender-$project
      git_in "$project" checkout -q -B main "${COMMIT[$project-nochange]}"
      run_contender "$contender" "$project" "$HOST/$path" >"$WORK/seed.log" 2>&1 ||
        { echo "ephemeral.sh: seeding $path failed:" >&2; tail -n 30 "$WORK/seed.log" >&2; exit 2; }
      for kase in nochange source deps; do measure "$round" "$project" "$kase" "$contender" "$path"; done
    done
  done
done
log "timed part took $(elapsed "$started" "$EPOCHREALTIME") s"
node "$HELPERS/report.mjs" "$RESULTS"
