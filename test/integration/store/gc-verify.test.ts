import {createHash} from 'node:crypto'
import {readdir, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {type Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {Descriptor} from '../../../src/oci/types.js'
import {OciStore, REF_NAME_ANNOTATION} from '../../../src/store/index.js'
import {useTempDir} from '../../helpers/tmp.js'

const tmp = useTempDir('store-gc', {each: true})
let store: OciStore
beforeEach(async () => {
  store = await OciStore.open(`${tmp.path}/store`)
})

const HOUR = 60 * 60_000
async function age(path: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms)
  await utimes(path, t, t)
}
async function ageAll(): Promise<void> {
  for (const name of await readdir(store.paths.algorithmDir('sha256'))) await age(join(store.paths.algorithmDir('sha256'), name), 2 * HOUR)
}

/** layer + config + manifest; returns all three descriptors. */
async function image(tag: string): Promise<{manifest: Descriptor; config: Descriptor; layer: Descriptor}> {
  const l = await store.writeBlobBytes(`layer of ${tag}`)
  const layer = {mediaType: MediaType.OciLayer, digest: l.digest, size: l.size}
  const config = await store.writeJson({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [l.digest]}}, MediaType.OciConfig)
  const manifest = await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer]}, MediaType.OciManifest)
  return {manifest, config, layer}
}
const digests = (img: {manifest: Descriptor; config: Descriptor; layer: Descriptor}): Digest[] => [img.manifest.digest, img.config.digest, img.layer.digest]

describe('gc', () => {
  it('removes unreferenced old blobs, keeps what index.json reaches (through nested indexes too)', async () => {
    const kept = await image('kept')
    const nested = await image('nested')
    const idx = await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [nested.manifest]}, MediaType.OciIndex)
    const dropped = await image('dropped')
    await store.setRefs([{name: 'kept', descriptor: kept.manifest}, {name: 'multi', descriptor: idx}])
    await ageAll()

    const result = await store.gc()
    expect(result.removedBlobs.sort()).toEqual(digests(dropped).sort())
    expect(result.freedBytes).toBe(dropped.manifest.size + dropped.config.size + dropped.layer.size)
    for (const d of [...digests(kept), ...digests(nested), idx.digest]) expect(await store.hasBlob(d)).toBe(true)
    for (const d of digests(dropped)) expect(await store.hasBlob(d)).toBe(false)
    expect((await store.verify()).ok).toBe(true)
    expect((await store.gc()).removedBlobs).toEqual([])
  })

  it('keeps young unreferenced blobs and blobs a live process leased; dry-run removes nothing', async () => {
    const young = await store.writeBlobBytes('just written')
    const leasedImage = await image('leased')
    const old = await store.writeBlobBytes('old and unreferenced')
    for (const d of [...digests(leasedImage), old.digest]) await age(store.paths.blob(d), 2 * HOUR)
    const lease = await store.lease()
    await lease.add(leasedImage.manifest.digest)

    expect((await store.gc({dryRun: true})).removedBlobs).toEqual([old.digest])
    expect(await store.hasBlob(old.digest)).toBe(true)
    expect((await store.gc()).removedBlobs).toEqual([old.digest])
    expect(await store.hasBlob(young.digest)).toBe(true)
    for (const d of digests(leasedImage)) expect(await store.hasBlob(d)).toBe(true)

    await lease.release()
    expect((await store.gc()).removedBlobs.sort()).toEqual(digests(leasedImage).sort())
    expect((await store.gc({blobMinAgeMs: 0})).removedBlobs).toEqual([young.digest])
  })

  it('ignores leases of dead processes and removes them', async () => {
    const blob = await store.writeBlobBytes('leased by a dead process')
    await age(store.paths.blob(blob.digest), 2 * HOUR)
    await writeFile(join(store.paths.leasesDir, 'lease-999999999-abc'), JSON.stringify({pid: 999999999, digests: [blob.digest]}))
    expect((await store.gc()).removedBlobs).toEqual([blob.digest])
    expect(await readdir(store.paths.leasesDir)).toEqual([])
  })

  it('a writer that finds an old unreferenced blob refreshes it, so gc keeps it', async () => {
    const data = Buffer.from('reused layer')
    const {digest} = await store.writeBlobBytes(data)
    await age(store.paths.blob(digest), 2 * HOUR)
    expect((await store.writeBlob(() => data, {digest})).written).toBe(false)
    expect((await store.gc()).removedBlobs).toEqual([])
  })

  it('a leased write records the digest in the lease before it reads the source or finds the blob present', async () => {
    const data = Buffer.from('leased before it lands')
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest
    const lease = await store.lease()
    const leased = async (): Promise<Digest[]> => (JSON.parse(await readFile(lease.file, 'utf8')) as {digests: Digest[]}).digests
    let leasedWhenOpened: Digest[] = []
    await store.writeBlob(async () => {
      leasedWhenOpened = await leased()
      return data
    }, {digest}, lease)
    expect(leasedWhenOpened).toEqual([digest])
    await lease.release()

    // already present: the lease comes first too, so a gc that moved the blob aside puts it back
    const again = await store.lease()
    expect((await store.writeBlob(() => data, {digest}, again)).written).toBe(false)
    expect((JSON.parse(await readFile(again.file, 'utf8')) as {digests: Digest[]}).digests).toEqual([digest])
    expect((await store.gc({blobMinAgeMs: 0})).removedBlobs).toEqual([])
    await again.release()
  })

  it('an index update refuses a name whose blobs are gone, and leaves index.json as it was', async () => {
    const img = await image('a')
    await store.setRef('kept', (await image('kept')).manifest)
    const before = await readFile(store.paths.indexFile, 'utf8')
    await rm(store.paths.blob(img.layer.digest)) // what a gc that did not see the image's lease would have done
    const err = await store.setRefs([{name: 'a', descriptor: img.manifest}]).then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({kind: 'conflict', message: `not recording a: blob ${img.layer.digest} (referenced by ${img.manifest.digest}) is not in the local store`})
    expect(await readFile(store.paths.indexFile, 'utf8')).toBe(before)
    await rm(store.paths.blob(img.manifest.digest))
    await expect(store.setRef('a', img.manifest)).rejects.toMatchObject({kind: 'conflict', message: expect.stringContaining('(referenced by image a) is not in the local store')})
    expect((await store.verify()).ok).toBe(true)
  })

  it('removes leftover temp files once old (or at once with tempMaxAgeMs 0), and keeps a live writer\'s', async () => {
    const deadOld = join(store.paths.tmpDir, 'blob-999999999-aaaa')
    const deadYoung = join(store.paths.tmpDir, 'blob-999999999-bbbb')
    const mine = join(store.paths.tmpDir, `blob-${process.pid}-cccc`)
    for (const f of [deadOld, deadYoung, mine]) await writeFile(f, 'partial')
    await age(deadOld, 2 * HOUR)
    await age(mine, 2 * HOUR)
    expect((await store.gc()).removedTemp).toEqual(['blob-999999999-aaaa'])
    expect((await store.cleanupTemp({olderThanMs: 0})).map(t => t.name)).toEqual(['blob-999999999-bbbb'])
    expect(await readdir(store.paths.tmpDir)).toEqual([`blob-${process.pid}-cccc`])
  })
})

describe('verify', () => {
  it('is clean on a healthy store', async () => {
    const img = await image('a')
    await store.setRef('a', img.manifest)
    expect(await store.verify()).toEqual({ok: true, checked: 3, corrupt: [], missing: [], orphanTemp: []})
  })

  it('detects a flipped byte in a blob', async () => {
    const img = await image('a')
    await store.setRef('a', img.manifest)
    const file = store.paths.blob(img.layer.digest)
    const bytes = Buffer.from(`layer of a`)
    bytes[3] ^= 0x01
    await writeFile(file, bytes)
    const report = await store.verify()
    expect(report.ok).toBe(false)
    expect(report.corrupt).toEqual([expect.objectContaining({digest: img.layer.digest, reason: 'digest-mismatch'})])
    expect(report.missing).toEqual([])
  })

  it('detects a missing referenced blob and a size that disagrees with the descriptor', async () => {
    const img = await image('a')
    await store.setRefs([{name: 'a', descriptor: img.manifest}])
    // damage no slipway process makes: index.json edited by hand, a blob deleted behind the store's back
    const index = JSON.parse(await readFile(store.paths.indexFile, 'utf8')) as {manifests: Descriptor[]}
    index.manifests.push({...img.config, size: img.config.size + 1, annotations: {[REF_NAME_ANNOTATION]: 'wrong-size'}})
    await writeFile(store.paths.indexFile, JSON.stringify(index))
    await rm(store.paths.blob(img.layer.digest))
    const report = await store.verify()
    expect(report.ok).toBe(false)
    expect(report.missing).toEqual([{digest: img.layer.digest, referencedBy: img.manifest.digest}])
    expect(report.corrupt).toEqual([expect.objectContaining({digest: img.config.digest, reason: 'size-mismatch'})])
  })

  it('reports an unparseable index.json, and leftover temp files separately from corruption', async () => {
    await writeFile(join(store.paths.tmpDir, 'blob-999999999-dddd'), 'half a blob')
    let report = await store.verify()
    expect(report.ok).toBe(true)
    expect(report.orphanTemp.map(t => t.name)).toEqual(['blob-999999999-dddd'])
    await writeFile(store.paths.indexFile, '{"schemaVersion":2,"manif')
    report = await store.verify()
    expect(report.ok).toBe(false)
    expect(report.indexError).toMatch(/index.json is not valid JSON/)
  })
})
