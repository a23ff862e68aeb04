// One timed run for bench/compress.sh, against a private build of slipway (DIST, its tsc output):
//
//   node run.mjs DIST parallel TAR OUT      slipway's layer compression (parallel gzip) of a tar file, both digests taken as the layer writer does
//   node run.mjs DIST single TAR OUT        the same with one zlib gzip stream at the same level (what slipway did before)
//   node run.mjs DIST write ROOT OUT gzip|none   slipway's layer writer on a whole tree: tar, digests, compression
// Prints `{"seconds": S, "cpu": CPU_SECONDS, "bytes": N}`.
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {pathToFileURL} from 'node:url'
import {createGzip} from 'node:zlib'

const [dist, mode, input, out, compression] = process.argv.slice(2)
const load = path => import(pathToFileURL(join(dist, path)).href)
const {Digester} = await load('oci/digest.js')

function hashing() {
  const digester = new Digester()
  return new Transform({transform(chunk, _enc, cb) { digester.update(chunk); cb(null, chunk) }})
}

let result
let start = performance.now()
let cpu = process.cpuUsage() // every thread of the process, the compression workers included
if (mode === 'parallel' || mode === 'single') {
  const {parallelGzip} = await load('layer/parallel-gzip.js')
  const {DEFLATE_OPTIONS} = await load('layer/deflate-pool.js')
  const gzip = mode === 'parallel' ? parallelGzip() : createGzip(DEFLATE_OPTIONS)
  const file = createWriteStream(out)
  await pipeline(createReadStream(input, {highWaterMark: 256 * 1024}), hashing(), gzip, hashing(), file)
  result = {bytes: file.bytesWritten}
} else if (mode === 'write') {
  const {diffLayer} = await load('layer/diff.js')
  const {snapshot} = await load('layer/snapshot.js')
  const {writeLayer} = await load('layer/root-layer.js')
  const {drainLayer} = await load('layer/layer-writer.js')
  const empty = await mkdtemp(join(tmpdir(), 'slipway-bench-empty-'))
  const changes = await diffLayer(await snapshot(empty), input)
  await rm(empty, {recursive: true})
  start = performance.now() // the layer's writing, not the walk that found its files
  cpu = process.cpuUsage()
  const blob = await drainLayer(writeLayer(input, changes, {mtimeClamp: 1_700_000_000, compression}), createWriteStream(out))
  result = {bytes: blob.size}
} else {
  throw new Error(`unknown mode ${mode}`)
}
const used = process.cpuUsage(cpu)
console.log(JSON.stringify({seconds: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6, ...result}))
