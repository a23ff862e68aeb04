import {createHash} from 'node:crypto'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {Readable} from 'node:stream'

import {SlipwayError} from '../../../src/errors.js'
import {parseDigest, sha256Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import {OciStore} from '../../../src/store/index.js'
import {useTempDir} from '../../helpers/tmp.js'

const tmp = useTempDir('store-blobs', {each: true})
let store: OciStore
beforeEach(async () => {
  store = await OciStore.open(`${tmp.path}/store`)
})

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (e instanceof SlipwayError) return e.kind
    throw e
  }
  return 'resolved'
}

const leftovers = async () => [...await readdir(store.paths.tmpDir), ...await readdir(store.paths.algorithmDir('sha256'))]

/** Random bytes in network-sized chunks (64 KiB, the last shorter), as a registry body arrives. */
function networkChunks(data: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < data.length; i += 65536) out.push(data.subarray(i, i + 65536))
  return out
}

describe('large blob writes, several at once', () => {
  const big = (mib: number, seed: number) => {
    const data = Buffer.alloc(mib * 1024 * 1024 + 1234)
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761 + seed) >>> 0, i)
    return data
  }

  it('writes several at once, each byte for byte under its own digest', async () => {
    const blobs = [big(9, 1), big(12, 2), big(10, 3)]
    const written = await Promise.all(blobs.map(b => store.writeBlob(Readable.from(networkChunks(b)), {digest: sha256Digest(b), size: b.length})))
    for (const [i, b] of blobs.entries()) {
      expect(written[i]).toEqual({digest: sha256Digest(b), size: b.length, written: true})
      expect((await readFile(store.paths.blob(written[i]!.digest))).equals(b)).toBe(true)
    }
    expect(await readdir(store.paths.tmpDir)).toEqual([])
  })

  it('rejects a wrong digest, a short or long body and a failing source, and leaves nothing', async () => {
    const data = big(9, 4)
    const digest = sha256Digest(data)
    const flipped = Buffer.from(data)
    flipped[5_000_000] = flipped[5_000_000]! ^ 1
    expect(await kindOf(store.writeBlob(Readable.from(networkChunks(flipped)), {digest, size: data.length}))).toBe('integrity')
    expect(await kindOf(store.writeBlob(Readable.from(networkChunks(data.subarray(1))), {digest, size: data.length}))).toBe('integrity')
    expect(await kindOf(store.writeBlob(Readable.from(networkChunks(Buffer.concat([data, data.subarray(0, 9)]))), {digest, size: data.length}))).toBe('integrity')
    async function* failing() {
      yield data.subarray(0, 3 * 1024 * 1024)
      throw new SlipwayError('network', 'connection reset')
    }
    expect(await kindOf(store.writeBlob(failing(), {digest, size: data.length}))).toBe('network')
    expect(await leftovers()).toEqual([])
    // the store still takes the blob after those failures
    expect(await store.writeBlob(Readable.from(networkChunks(data)), {digest, size: data.length})).toEqual({digest, size: data.length, written: true})
  })
})

describe('blob writes', () => {
  it('writes a stream and reads it back by digest', async () => {
    const data = Buffer.from('hello layer'.repeat(1000))
    const w = await store.writeBlob(Readable.from([data.subarray(0, 5000), data.subarray(5000)]))
    expect(w).toEqual({digest: sha256Digest(data), size: data.length, written: true})
    expect(await store.hasBlob(w.digest)).toBe(true)
    expect(await store.blobSize(w.digest)).toBe(data.length)
    expect(await store.readBlob(w.digest)).toEqual(data)
    const chunks: Buffer[] = []
    for await (const c of await store.openBlob(w.digest)) chunks.push(c as Buffer)
    expect(Buffer.concat(chunks)).toEqual(data)
    expect(await readFile(store.paths.blob(w.digest))).toEqual(data)
    expect(await readdir(store.paths.tmpDir)).toEqual([])
  })

  it('rejects a digest mismatch and leaves nothing', async () => {
    const expected = sha256Digest('what the registry promised')
    expect(await kindOf(store.writeBlob(Readable.from([Buffer.from('something else')]), {digest: expected}))).toBe('integrity')
    expect(await store.hasBlob(expected)).toBe(false)
    expect(await leftovers()).toEqual([])
  })

  it('rejects too many and too few bytes and leaves nothing', async () => {
    const data = Buffer.from('0123456789')
    const digest = sha256Digest(data)
    expect(await kindOf(store.writeBlob(data, {digest, size: 9}))).toBe('integrity')
    expect(await kindOf(store.writeBlob(data, {digest, size: 11}))).toBe('integrity')
    expect(await kindOf(store.writeBlob(data, {size: 3}))).toBe('integrity')
    expect(await leftovers()).toEqual([])
  })

  it('stops reading once the source exceeds the expected size', async () => {
    let produced = 0
    async function* endless() {
      for (;;) {
        produced++
        yield Buffer.alloc(1024)
      }
    }
    expect(await kindOf(store.writeBlob(endless(), {size: 4096}))).toBe('integrity')
    expect(produced).toBe(5)
    expect(await leftovers()).toEqual([])
  })

  it('skips a blob it already has without opening or reading the source', async () => {
    const data = Buffer.from('layer bytes')
    const first = await store.writeBlobBytes(data)
    expect(first.written).toBe(true)
    let opened = false
    const again = await store.writeBlob(() => {
      opened = true
      return data
    }, {digest: first.digest, size: data.length})
    expect(again).toEqual({digest: first.digest, size: data.length, written: false})
    expect(opened).toBe(false)

    const stream = Readable.from([data])
    const skipped = await store.writeBlob(stream, {digest: first.digest})
    expect(skipped.written).toBe(false)
    expect(stream.destroyed).toBe(true)
  })

  it('rewrites a blob whose file has the wrong size (truncated by a crash of another tool)', async () => {
    const data = Buffer.from('full content of the blob')
    const {digest} = await store.writeBlobBytes(data)
    await writeFile(store.paths.blob(digest), data.subarray(0, 4))
    const w = await store.writeBlob(() => data, {digest, size: data.length})
    expect(w.written).toBe(true)
    expect(await store.readBlob(digest)).toEqual(data)
  })

  it('stores a sha512 blob when the expected digest is sha512', async () => {
    const data = Buffer.from('sha512 content')
    const digest = parseDigest(`sha512:${createHash('sha512').update(data).digest('hex')}`)
    expect(await store.writeBlob(data, {digest})).toEqual({digest, size: data.length, written: true})
    expect(await store.readBlob(digest)).toEqual(data)
    expect((await store.verify()).checked).toBe(1)
  })

  it('detects corruption on read', async () => {
    const {digest} = await store.writeBlobBytes('{"a":1}')
    await writeFile(store.paths.blob(digest), '{"a":2}')
    expect(await kindOf(store.readBlob(digest))).toBe('integrity')
    const stream = await store.openBlob(digest)
    await expect((async () => { for await (const _ of stream) { /* drain */ } })()).rejects.toThrow(/corrupt/)
    const raw: Buffer[] = []
    for await (const c of await store.openBlob(digest, {verify: false})) raw.push(c as Buffer)
    expect(Buffer.concat(raw).toString()).toBe('{"a":2}')
  })

  it('reports absent blobs as not-found and caps in-memory reads', async () => {
    const absent = sha256Digest('absent')
    expect(await store.hasBlob(absent)).toBe(false)
    expect(await kindOf(store.blobSize(absent))).toBe('not-found')
    expect(await kindOf(store.readBlob(absent))).toBe('not-found')
    expect(await kindOf(store.openBlob(absent))).toBe('not-found')
    const {digest} = await store.writeBlobBytes(Buffer.alloc(2048))
    expect(await kindOf(store.readBlob(digest, 1024))).toBe('integrity')
  })

  it('reads manifests and configs as JSON and refuses other blobs', async () => {
    const layer = await store.writeBlobBytes('not json')
    const config = await store.writeJson({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [layer.digest]}}, MediaType.OciConfig)
    const manifest = await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [{mediaType: MediaType.OciLayer, digest: layer.digest, size: layer.size}]}, MediaType.OciManifest)
    expect((await store.getManifest(manifest.digest)).mediaType).toBe(MediaType.OciManifest)
    expect((await store.getConfig(config.digest)).rootfs.diff_ids).toEqual([layer.digest])
    expect(await kindOf(store.getManifest(config.digest))).toBe('integrity')
    expect(await kindOf(store.getConfig(layer.digest))).toBe('integrity')
  })
})
