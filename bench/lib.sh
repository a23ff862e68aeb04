# Shared by the bash benchmarks (bench/transfer.sh, bench/ephemeral.sh, bench/realistic.sh): source it after setting ROOT and
# WORK and defining log().

# private_slipway: a private build of the working tree into $WORK/slipway; sets SLIPWAY (the command).
# What is measured is the source as it is now, and another `npm run build` (which empties dist/) cannot pull
# the CLI away in the middle of a run.
private_slipway() {
  local app=$WORK/slipway
  log "building slipway from $ROOT/src"
  mkdir -p "$app"
  cp -r "$ROOT/package.json" "$ROOT/bin" "$app/"
  [ -f "$ROOT/.oclif.manifest.json" ] && cp "$ROOT/.oclif.manifest.json" "$app/"
  ln -s "$ROOT/node_modules" "$app/node_modules"
  (cd "$ROOT" && node node_modules/typescript/bin/tsc -p tsconfig.json --outDir "$app/dist" && node scripts/bundle.mjs "$app/dist")
  SLIPWAY=("$(command -v node)" "$app/bin/run.js")
}

# start_registry DIR: a docker-registry on a free loopback port storing under DIR/storage, its access log in
# DIR/access.log; sets REG_HOST, REG_LOG, REG_STORAGE and REG_PID (also written to DIR/pid). Exits 2 if
# none starts in three tries.
start_registry() {
  local dir=$1 port pid
  rm -rf "$dir"
  mkdir -p "$dir/storage"
  for _ in 1 2 3; do
    port=$(node "$ROOT/bench/transfer/free-port.mjs")
    cat >"$dir/config.yml" <<CONFIG
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "127.0.0.1:$port", secret: bench-$RANDOM$RANDOM}
CONFIG
    docker-registry serve "$dir/config.yml" >"$dir/access.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      if curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; then
        echo "$pid" >"$dir/pid"
        REG_PID=$pid
        REG_HOST=127.0.0.1:$port
        REG_LOG=$dir/access.log
        REG_STORAGE=$dir/storage
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "$(basename "$0"): docker-registry did not start (see $dir/access.log)" >&2
  exit 2
}

# journaled_workdir DIR SIZE_MIB: DIR on a journaled ext4 (this machine's root filesystem has no journal,
# which makes per-file costs unlike a CI runner's). When DIR's filesystem already has a journal it is used
# as it is; otherwise a SIZE_MIB sparse image beside it is formatted and loop-mounted on DIR (needs root).
# Sets JOURNALED_MOUNT to the mount point to unmount (empty when nothing was mounted); call
# release_journaled_workdir in the EXIT trap.
JOURNALED_MOUNT=
journaled_workdir() {
  local dir=$1 size=$2 dev
  mkdir -p "$dir"
  dev=$(findmnt -n -o SOURCE --target "$dir")
  if [ -b "$dev" ] && command -v dumpe2fs >/dev/null && dumpe2fs -h "$dev" 2>/dev/null | grep -q '^Filesystem features:.*has_journal'; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || { echo "$(basename "$0"): $dir is not on a journaled ext4, and making one needs root" >&2; exit 2; }
  truncate -s "${size}M" "$dir.img"
  mkfs.ext4 -q -F -O has_journal "$dir.img"
  mount -o loop "$dir.img" "$dir"
  JOURNALED_MOUNT=$dir
}
release_journaled_workdir() {
  if [ -n "$JOURNALED_MOUNT" ]; then
    umount "$JOURNALED_MOUNT" 2>/dev/null || umount -l "$JOURNALED_MOUNT" 2>/dev/null || true
    rm -f "$JOURNALED_MOUNT.img"
    JOURNALED_MOUNT=
  fi
}
