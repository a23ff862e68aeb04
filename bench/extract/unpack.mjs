// Times slipway's own code on one root, for bench/extract.sh:
//   node unpack.mjs DIST extract LAYER ROOT   unpacks LAYER (gzip or tar) into ROOT with dist/layer/extract.js
//   node unpack.mjs DIST walk ROOT            snapshots ROOT, then diffs it against that snapshot (the two
//                                             whole-root walks a shell stage makes), with dist/layer/snapshot.js and diff.js
// Prints one JSON line: seconds per phase, and the entries or paths seen.
import {createReadStream} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

const [dist, what, ...args] = process.argv.slice(2)
const load = rel => import(pathToFileURL(join(dist, rel)).href)
const seconds = start => Number(process.hrtime.bigint() - start) / 1e9

if (what === 'extract') {
  const {extractLayer} = await load('layer/extract.js')
  const [layer, root] = args
  const start = process.hrtime.bigint()
  const {entries} = await extractLayer(createReadStream(layer), root, {label: layer})
  console.log(JSON.stringify({extract: seconds(start), entries}))
} else if (what === 'walk') {
  const {snapshot} = await load('layer/snapshot.js')
  const {diffLayer} = await load('layer/diff.js')
  const [root] = args
  let start = process.hrtime.bigint()
  const snap = await snapshot(root)
  const snapshotSeconds = seconds(start)
  start = process.hrtime.bigint()
  const changes = await diffLayer(snap, root)
  console.log(JSON.stringify({snapshot: snapshotSeconds, diff: seconds(start), paths: snap.size, changes: changes.length}))
} else {
  console.error('usage: unpack.mjs DIST extract LAYER ROOT | unpack.mjs DIST walk ROOT')
  process.exit(2)
}
