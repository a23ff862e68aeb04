# Shared by the bash benchmarks (bench/transfer.sh, bench/ephemeral.sh): source it after setting ROOT and
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
