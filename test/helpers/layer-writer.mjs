// Child process for the layer compression tests: a separate process stands for another host (set
// SLIPWAY_GZIP_WORKERS to give it another number of compression workers). Runs the TypeScript sources
// directly through test/helpers/ts-loader.mjs.
//
//   node layer-writer.mjs write ROOT OUT COMPRESSION   the layer of everything under ROOT into the file OUT;
//                                                      prints `blob {digest, diffId, size, mediaType}`
//   node layer-writer.mjs abort ROOT STORE BYTES       stores the layer of ROOT in the store at STORE and aborts
//                                                      once BYTES of it were written; prints `aborted {...}`
// The process then ends on its own: compression work left pending would keep it running.
import './ts-loader.mjs'

import {createWriteStream} from 'node:fs'
import {mkdir, mkdtemp, readdir} from 'node:fs/promises'
import {join} from 'node:path'

const src = path => import(new URL(`../../src/${path}`, import.meta.url).href)
const {diffLayer} = await src('layer/diff.ts')
const {drainLayer} = await src('layer/layer-writer.ts')
const {writeLayer} = await src('layer/root-layer.ts')
const {snapshot} = await src('layer/snapshot.ts')
const {deflatePool} = await src('layer/deflate-pool.ts')
const {storeLayer} = await src('builder/layers.ts')
const {OciStore} = await src('store/index.ts')

const [command, root, ...args] = process.argv.slice(2)
const say = (word, value) => process.stdout.write(`${word} ${JSON.stringify(value)}\n`)

/** Everything under `root` as added files: the changes against an empty directory's snapshot. */
async function wholeTree() {
  const empty = await mkdtemp(join(root, '..', 'empty-'))
  return diffLayer(await snapshot(empty), root)
}

if (command === 'write') {
  const [out, compression] = args
  const layer = writeLayer(root, await wholeTree(), {mtimeClamp: 1_000_000_000, compression})
  say('blob', {...(await drainLayer(layer, createWriteStream(out))), workers: deflatePool().size})
} else if (command === 'abort') {
  const [storeRoot, bytes] = [args[0], Number(args[1])]
  const store = await OciStore.open(storeRoot)
  const lease = await store.lease()
  const layer = writeLayer(root, await wholeTree(), {mtimeClamp: 1_000_000_000})
  const abort = new AbortController()
  let written = 0
  layer.stream.on('data', chunk => {
    written += chunk.length
    if (written >= bytes) abort.abort()
  })
  const error = await storeLayer(store, lease, layer, abort.signal).then(() => undefined, e => e)
  await lease.release()
  await mkdir(join(storeRoot, 'tmp'), {recursive: true})
  say('aborted', {error: error?.name, written, tmp: await readdir(join(storeRoot, 'tmp')), blobs: await readdir(join(storeRoot, 'blobs/sha256'))})
} else {
  throw new Error(`unknown command ${command}`)
}
