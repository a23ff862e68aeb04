#!/bin/sh
# Builds the example project (fixtures/example) cold and warm with `slipway dimg build` and with
# `buildah bud --layers` (bench/Dockerfile.example, the same steps), in the same run, and prints the
# times and the slipway/buildah ratios.
#
#   bench/build.sh            (as root: buildah uses vfs storage and chroot isolation in a temp root)
#
# A local docker-registry on a free 127.0.0.1 port serves the busybox base image
# (fixtures/make-base-image.sh); both tools pull it from there. Cold = empty SLIPWAY_HOME / empty buildah
# root (the base pull included); warm = the same build again with nothing changed (median of WARM_RUNS,
# default 3). Builds dist/ first unless SLIPWAY_BENCH_NO_BUILD=1.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
warm_runs=${WARM_RUNS:-3}
for tool in docker-registry skopeo umoci buildah git node; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench.XXXXXX")
registry_pid=
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${SLIPWAY_BENCH_NO_BUILD:-}" != 1 ]; then (cd "$repo" && npm run build >/dev/null 2>&1) || { echo "bench: npm run build failed" >&2; exit 1; }; fi
slipway="$repo/bin/run.js"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- registry with the base image -------------------------------------------------------------
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
host="127.0.0.1:$port"
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: $host, secret: bench}
EOF
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
i=0
until node -e "fetch('http://$host/v2/').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { echo "bench: docker-registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
SOURCE_DATE_EPOCH=0 "$repo/fixtures/make-base-image.sh" "$work/base" >/dev/null
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$work/base:latest" "docker://$host/base/busybox:latest"
base="$host/base/busybox:latest"

# --- the project: the example in a git repository -----------------------------------------------
project="$work/example"
cp -r "$repo/fixtures/example" "$project"
sed -i "s#localhost:5000#$host#g" "$project/dappfile.yaml"
printf '.git\n' > "$project/.dockerignore"
(
  cd "$project"
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@slipway.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@slipway.invalid
  export GIT_AUTHOR_DATE='@1700000000 +0000' GIT_COMMITTER_DATE='@1700000000 +0000'
  git -c init.defaultBranch=main init -q && git add -A && git -c commit.gpgsign=false commit -qm example
)

# --- runners ---------------------------------------------------------------------------------------
slipway_build() {
  SLIPWAY_HOME="$work/slipway-home" node "$slipway" dimg build --dir "$project" > "$work/slipway.log" 2>&1 ||
    { echo "bench: slipway dimg build failed:" >&2; cat "$work/slipway.log" >&2; exit 1; }
}
buildah_build() {
  for target in web worker; do
    buildah --root "$work/buildah-root" --runroot "$work/buildah-runroot" --storage-driver vfs \
      bud --layers --isolation chroot --tls-verify=false --quiet \
      -f "$repo/bench/Dockerfile.example" --build-arg "BASE=$base" --target "$target" -t "example-$target" \
      "$project" > "$work/buildah.log" 2>&1 ||
      { echo "bench: buildah bud --target $target failed:" >&2; cat "$work/buildah.log" >&2; exit 1; }
  done
}
# time_of CMD: seconds CMD took
time_of() { t0=$(now); "$@"; elapsed "$t0" "$(now)"; }
warm_median() {
  times=
  n=0
  while [ "$n" -lt "$warm_runs" ]; do times="$times $(time_of "$@")"; n=$((n + 1)); done
  echo "$times" | sed 's/^ //' | median
}

slipway_cold=$(time_of slipway_build)
slipway_warm=$(warm_median slipway_build)
buildah_cold=$(time_of buildah_build)
buildah_warm=$(warm_median buildah_build)
slipway_version() { node "$slipway" --version >/dev/null; }
node_start=$(warm_runs=5 warm_median node -e 0)
slipway_start=$(warm_runs=5 warm_median slipway_version)

printf 'example project (3 images: artifact assets, web, worker) from %s\n' "$base"
printf '%-8s %10s %10s %16s\n' build slipway buildah slipway/buildah
printf '%-8s %9ss %9ss %16s\n' cold "$slipway_cold" "$buildah_cold" "$(ratio "$slipway_cold" "$buildah_cold")"
printf '%-8s %9ss %9ss %16s\n' warm "$slipway_warm" "$buildah_warm" "$(ratio "$slipway_warm" "$buildah_warm")"
printf 'startup (median of 5): node -e 0 %ss, slipway --version %ss; warm = median of %s runs\n' "$node_start" "$slipway_start" "$warm_runs"
