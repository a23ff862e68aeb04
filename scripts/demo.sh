#!/usr/bin/env bash
# Slipway demo: starts a throwaway registry, makes a busybox base image, builds the example project
# (fixtures/example) on "host A" and pushes it with its stages cache, then on a fresh "host B" pulls the
# cache, builds nothing, and runs the images. Everything lives in a temp dir removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SLIPWAY="node $ROOT/bin/run.js"
[ -f dist/slipway.cjs ] || npm run build >/dev/null

WORK=$(mktemp -d /tmp/slipway-demo-XXXXXX)
REGISTRY_PID=""
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
HOST="127.0.0.1:$PORT"
cat > "$WORK/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $WORK/registry}
  delete: {enabled: true}
http: {addr: $HOST, secret: demo}
YAML
step "starting a registry on $HOST (Debian's docker-registry)"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 50); do curl -fs "http://$HOST/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

step "making a busybox base image and pushing it to $HOST/base/busybox:latest (umoci + skopeo)"
bash fixtures/make-base-image.sh "$WORK/base" latest >/dev/null
skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$WORK/base:latest" "docker://$HOST/base/busybox:latest"

step "preparing the example project (a git work tree)"
cp -r fixtures/example "$WORK/example"
sed -i "s#localhost:5000#$HOST#g" "$WORK/example/dappfile.yaml"
git -C "$WORK/example" init -q
git -C "$WORK/example" add -A
git -C "$WORK/example" -c user.name=demo -c user.email=demo@example.invalid commit -qm "example"
cat "$WORK/example/dappfile.yaml" | sed -n '1,12p'; echo "  ..."

REPO="$HOST/example"
step "host A: slipway dimg bp --with-stages $REPO"
SLIPWAY_HOME="$WORK/host-a" $SLIPWAY dimg bp --with-stages "$REPO" --dir "$WORK/example"

step "host B (empty store): slipway dimg stages pull $REPO, then dimg build"
SLIPWAY_HOME="$WORK/host-b" $SLIPWAY dimg stages pull "$REPO" --dir "$WORK/example"
SLIPWAY_HOME="$WORK/host-b" $SLIPWAY dimg build --dir "$WORK/example"

step "host B: the stages cache it has"
SLIPWAY_HOME="$WORK/host-b" $SLIPWAY dimg stages list local --repo "$REPO" --dir "$WORK/example"

step "running the images (slipway dimg run, in the build sandbox)"
SLIPWAY_HOME="$WORK/host-b" $SLIPWAY dimg run worker --dir "$WORK/example"
SLIPWAY_HOME="$WORK/host-b" $SLIPWAY dimg run web --dir "$WORK/example" -- sh -c 'echo "web serves:"; cat /var/www/index.html'

step "host C (empty store, registry-native) after a source-only commit: slipway dimg bp --with-stages $REPO"
echo "# a comment from the second commit" >> "$WORK/example/worker/worker.sh"
git -C "$WORK/example" -c user.name=demo -c user.email=demo@example.invalid commit -qam "worker: a source change"
SLIPWAY_HOME="$WORK/host-c" $SLIPWAY dimg bp --with-stages "$REPO" --dir "$WORK/example"

step "the registry, as skopeo sees it"
skopeo inspect --tls-verify=false "docker://$REPO/web:latest" | grep -A4 '"Labels"'
printf '\nDone: built, pushed with its stages cache, pulled on a second host that built nothing, run, and rebuilt\nafter a source change on a third empty host that downloaded no layer — no Docker daemon.\n'
