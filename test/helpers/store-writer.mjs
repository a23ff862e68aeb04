// Child process for the store's concurrency and crash tests. Runs the TypeScript sources directly
// through test/helpers/ts-loader.mjs.
//
//   node store-writer.mjs write ROOT PREFIX COUNT      COUNT images (layer, config, manifest) named PREFIX:i
//   node store-writer.mjs slow-blob ROOT TOTAL CHUNK DELAY_MS   one blob of TOTAL bytes, CHUNK bytes every DELAY_MS
//   node store-writer.mjs hold-lock ROOT STALE_MS      take the store lock and never let go
// It prints `ready` on stdout when the interesting part started, and `done` when finished.
import './ts-loader.mjs'

const {OciStore} = await import(new URL('../../src/store/index.ts', import.meta.url).href)
const {sha256Digest} = await import(new URL('../../src/oci/digest.ts', import.meta.url).href)

const [command, root, ...args] = process.argv.slice(2)
const say = line => process.stdout.write(`${line}\n`)

if (command === 'write') {
  const [prefix, count] = [args[0], Number(args[1])]
  const store = await OciStore.open(root, {lock: {staleMs: 2000, timeoutMs: 60_000}})
  say('ready')
  for (let i = 0; i < count; i++) {
    const layer = await store.writeBlobBytes(`layer ${prefix} ${i} ${'x'.repeat(i * 100)}`)
    const config = await store.writeJson(
      {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [layer.digest]}, config: {Labels: {prefix, i: String(i)}}},
      'application/vnd.oci.image.config.v1+json',
    )
    const manifest = await store.writeJson(
      {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size}]},
      'application/vnd.oci.image.manifest.v1+json',
    )
    await store.setRef(`${prefix}:${i}`, manifest, {'slipway.test/writer': prefix})
  }
  say('done')
} else if (command === 'slow-blob') {
  const [total, chunk, delay] = args.map(Number)
  const store = await OciStore.open(root)
  const content = slowContent(total, chunk, delay, () => say('ready'))
  const written = await store.writeBlob(content, {digest: sha256Digest(wholeContent(total, chunk)), size: total})
  say(`done ${written.digest}`)
} else if (command === 'hold-lock') {
  const store = await OciStore.open(root, {lock: {staleMs: Number(args[0])}})
  setInterval(() => {}, 60_000) // the lock's refresh timer is unref'd: keep the process alive
  await store.updateIndex(async () => {
    say('ready')
    await new Promise(() => {})
  })
} else {
  throw new Error(`unknown command ${command}`)
}

/** Chunk i is CHUNK bytes of value i % 256; the same content `wholeContent` builds at once. */
async function* slowContent(total, chunk, delay, onFirst) {
  for (let offset = 0, i = 0; offset < total; offset += chunk, i++) {
    yield Buffer.alloc(Math.min(chunk, total - offset), i % 256)
    if (i === 0) onFirst()
    await new Promise(r => setTimeout(r, delay))
  }
}

function wholeContent(total, chunk) {
  const parts = []
  for (let offset = 0, i = 0; offset < total; offset += chunk, i++) parts.push(Buffer.alloc(Math.min(chunk, total - offset), i % 256))
  return Buffer.concat(parts)
}
