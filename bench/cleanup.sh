#!/usr/bin/env bash
# Issue 7: speed of `dimg stages cleanup repo --improper-repo-cache` on a large stages cache.
#
#   bench/cleanup.sh            (run `npm run build` first if dist/ is stale; needs docker-registry)
#
# A fresh docker-registry on a free loopback port (temp dir) is filled by bench/fill-registry.mjs with
# CHAINS x STAGES (200 x 25 = 5,000) stage tags of one project, as chains linked by their parent labels
# (200 dimg-versions over DIMGS=8 dimgs), and 200 final images in REPO/<dimg> naming the last stage of
# USED=100 of the chains (2 tags each), so half the stages are improper. Then timed:
#   dry-run   slipway dimg stages cleanup repo REPO --improper-repo-cache --keep-younger-than 0 --dry-run --json
#   real      the same without --dry-run (deletes 2,500 tags)
# Checks the counts (plan and what is left in REPO), prints the figures, exits 1 when a target is missed:
# real under 30 s, dry-run under 10 s.
#
# Also measured (FLOOR=0 skips it): the registry's own floor, the same manifest deletions sent with curl
# to a copy of the filled registry.
#
# Environment: CHAINS (200), STAGES (25), DIMGS (8), USED (100), FLOOR (1), FLOOR_JOBS (8), KEEP=1 keeps the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHAINS=${CHAINS:-200}
STAGES=${STAGES:-25}
DIMGS=${DIMGS:-8}
USED=${USED:-100}
NODE=$(command -v node)
SLIPWAY=("$NODE" "$ROOT/bin/run.js")
DRY_TARGET=10
REAL_TARGET=30

command -v docker-registry >/dev/null || { echo "cleanup.sh: docker-registry is not installed" >&2; exit 2; }
[ -f "$ROOT/dist/registry/index.js" ] || (cd "$ROOT" && npm run build >/dev/null)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-cleanup.XXXXXX")
REGISTRY_PID=
cleanup() {
  [ -n "$REGISTRY_PID" ] && { kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; }
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- registry ------------------------------------------------------------------------------------------
PORT=$("$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
HOST=127.0.0.1:$PORT
mkdir -p "$WORK/storage"
cat >"$WORK/config.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $WORK/storage}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "$HOST", secret: bench}
EOF
env -u REGISTRY_HTTP_ADDR docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do
  curl -fsS "http://$HOST/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$HOST/v2/" >/dev/null || { echo "cleanup.sh: docker-registry did not start:" >&2; cat "$WORK/registry.log" >&2; exit 1; }

# --- project and fill ----------------------------------------------------------------------------------
PROJECT=benchproj
REPO=$HOST/$PROJECT
mkdir -p "$WORK/$PROJECT"
for ((i = 0; i < DIMGS; i++)); do
  [ "$i" -gt 0 ] && echo '---'
  printf 'dimg: d%d\nfrom: %s/base/busybox:latest\nshell:\n  install: [echo d%d]\n' "$i" "$HOST" "$i"
done >"$WORK/$PROJECT/dappfile.yaml"

log "filling $REPO: $CHAINS chains x $STAGES stages, finals for $USED chains"
FILL=$("$NODE" "$ROOT/bench/fill-registry.mjs" "$HOST" "$PROJECT" "$PROJECT" "$CHAINS" "$STAGES" "$DIMGS" "$USED" 2)
log "filled: $FILL"
TOTAL=$((CHAINS * STAGES))
IMPROPER=$(((CHAINS - USED) * STAGES))

export SLIPWAY_HOME=$WORK/home
run_cleanup() { "${SLIPWAY[@]}" dimg stages cleanup repo "$REPO" --improper-repo-cache --keep-younger-than 0 --dir "$WORK/$PROJECT" --json "$@"; }
count() { "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.summary.delete, j.deleted.length)})'; }
stage_tags() { curl -fsS "http://$HOST/v2/$PROJECT/tags/list" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tags.filter(t=>t.startsWith("dimgstage-")).length))'; }

[ "$(stage_tags)" = "$TOTAL" ] || { echo "cleanup.sh: expected $TOTAL stage tags after filling" >&2; exit 1; }

log "dry run"
T0=$(now)
DRY=$(run_cleanup --dry-run | count)
T1=$(now)
DRY_S=$(elapsed "$T0" "$T1")
[ "$DRY" = "$IMPROPER 0" ] || { echo "cleanup.sh: dry run planned '$DRY', expected '$IMPROPER 0'" >&2; exit 1; }
[ "$(stage_tags)" = "$TOTAL" ] || { echo "cleanup.sh: the dry run deleted tags" >&2; exit 1; }

# --- the registry's own floor: the same manifest deletions sent straight with curl to a copy ---------
# distribution 2.8 cannot delete a tag, only a manifest by digest, and on each such DELETE it reads the
# link file of every tag in the repository to untag it (O(tags) per delete). This measures what those
# deletions cost the registry alone, 8 at a time as slipway sends them: no client can go below it.
FLOOR_S=-
if [ "${FLOOR:-1}" = 1 ]; then
  log "registry floor: the same $IMPROPER manifest deletes with curl, on a copy of the storage"
  run_cleanup --dry-run | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const d of JSON.parse(s).delete)console.log("dimgstage-"+d.signature)})' >"$WORK/improper-tags"
  cp -a "$WORK/storage" "$WORK/storage-floor"
  PORT2=$("$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  sed -e "s#$WORK/storage#$WORK/storage-floor#" -e "s#$HOST#127.0.0.1:$PORT2#" "$WORK/config.yml" >"$WORK/config-floor.yml"
  env -u REGISTRY_HTTP_ADDR docker-registry serve "$WORK/config-floor.yml" >"$WORK/registry-floor.log" 2>&1 &
  FLOOR_PID=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT2/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  xargs -P 8 -I{} curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$PORT2/v2/$PROJECT/manifests/{}" <"$WORK/improper-tags" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}' | sort -u >"$WORK/improper-digests"
  T0=$(now)
  CODES=$(xargs -P "${FLOOR_JOBS:-8}" -I{} curl -sS -o /dev/null -w '%{http_code}\n' -X DELETE "http://127.0.0.1:$PORT2/v2/$PROJECT/manifests/{}" <"$WORK/improper-digests" | sort | uniq -c | xargs)
  T1=$(now)
  FLOOR_S=$(elapsed "$T0" "$T1")
  kill "$FLOOR_PID" 2>/dev/null || true
  wait "$FLOOR_PID" 2>/dev/null || true
  rm -rf "$WORK/storage-floor"
  log "  $(wc -l <"$WORK/improper-digests") deletes: $FLOOR_S s (HTTP status counts: $CODES)"
fi

log "real cleanup"
T0=$(now)
REAL=$(run_cleanup | count)
T1=$(now)
REAL_S=$(elapsed "$T0" "$T1")
[ "$REAL" = "$IMPROPER $IMPROPER" ] || { echo "cleanup.sh: cleanup deleted '$REAL', expected '$IMPROPER $IMPROPER'" >&2; exit 1; }
LEFT=$(stage_tags)
[ "$LEFT" = "$((TOTAL - IMPROPER))" ] || { echo "cleanup.sh: $LEFT stage tags left, expected $((TOTAL - IMPROPER))" >&2; exit 1; }

printf '\nstages cleanup repo --improper-repo-cache: %d stage tags, %d final images, %d improper\n' "$TOTAL" "$((USED * 2))" "$IMPROPER"
printf '  %-10s %8ss   (target < %ss)\n' 'dry-run' "$DRY_S" "$DRY_TARGET" 'real' "$REAL_S" "$REAL_TARGET"
printf '  %-10s %8ss   (the registry alone: the same %d deletes sent with curl, 8 at a time)\n' 'floor' "$FLOOR_S" "$IMPROPER"
printf '  %d stage tags left in REPO\n' "$LEFT"
awk -v d="$DRY_S" -v r="$REAL_S" -v dt="$DRY_TARGET" -v rt="$REAL_TARGET" 'BEGIN { exit !(d < dt && r < rt) }' || { echo "target missed" >&2; exit 1; }
