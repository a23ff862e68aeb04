import {createReadStream} from 'node:fs'
import {access, mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {PassThrough} from 'node:stream'

import type {ArchiveProgress} from '../../../src/archive/index.js'
import {SlipwayError} from '../../../src/errors.js'
import type {ImageManifest} from '../../../src/oci/types.js'
import {exportArchive, importArchive, OciStore} from '../../../src/store/index.js'
import {useTempDir} from '../../helpers/tmp.js'
import {listTar} from '../../helpers/tar.js'
import {blobFiles, indexText, makeImages, NAME_A, NAME_B, NAME_C, run} from './support.js'

const tmp = useTempDir('store-archive', {each: true})
let source: OciStore
beforeEach(async () => {
  source = await OciStore.open(`${tmp.path}/source`)
  await makeImages(source)
})

const NAMES = [NAME_A, NAME_B, NAME_C]

/** Blobs the named images reach, from the source store's point of view: everything but `other`'s. */
async function expectedBlobs(): Promise<Map<string, Buffer>> {
  const all = await blobFiles(source)
  const other = await source.getManifest((await source.resolveRef('other'))!.digest) as ImageManifest
  all.delete((await source.resolveRef('other'))!.digest)
  all.delete(other.config.digest)
  all.delete(other.layers[0]!.digest)
  return all
}

describe('exportArchive', () => {
  it('writes oci-layout first, each reachable blob once, index.json last, with fixed metadata', async () => {
    const progress: ArchiveProgress[] = []
    const result = await exportArchive(source, NAMES, `${tmp.path}/images.tar`, {onProgress: p => progress.push(p)})
    const data = await readFile(`${tmp.path}/images.tar`)
    const blobs = await expectedBlobs()
    expect(result).toEqual({images: 3, blobs: blobs.size, bytes: data.length})

    const entries = await listTar(data)
    const blobEntries = entries.filter(e => e.name.startsWith('blobs/sha256/'))
    expect(entries.map(e => e.name)).toEqual(['oci-layout', 'blobs', 'blobs/sha256', ...blobEntries.map(e => e.name), 'index.json'])
    expect(blobEntries.map(e => e.name)).toEqual([...blobs.keys()].sort().map(d => `blobs/${d.replace(':', '/')}`))
    for (const e of entries) {
      expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, 0])
      expect(e.mode).toBe(e.type === 'directory' ? 0o755 : 0o644)
    }
    for (const e of blobEntries) {
      const content = data.subarray(e.offset, e.offset + e.size)
      expect(content.equals(blobs.get(e.name.replace('blobs/sha256/', 'sha256:'))!)).toBe(true)
    }
    const indexEntry = entries.at(-1)!
    const index = JSON.parse(data.subarray(indexEntry.offset, indexEntry.offset + indexEntry.size).toString())
    expect(index.manifests).toEqual(await Promise.all(NAMES.map(async n => (await source.listRefs()).find(r => r.name === n)!.descriptor)))
    expect(index.manifests[0].annotations['dimg.stage']).toBe('install') // the store's annotations are kept

    const totalBlobBytes = [...blobs.values()].reduce((n, b) => n + b.length, 0)
    expect(progress.at(-1)).toEqual({bytes: totalBlobBytes, totalBytes: totalBlobBytes})

    // the same images give the same bytes
    await exportArchive(source, NAMES, `${tmp.path}/again.tar`)
    expect((await readFile(`${tmp.path}/again.tar`)).equals(data)).toBe(true)
    expect((await readdir(tmp.path)).sort()).toEqual(['again.tar', 'images.tar', 'source'])
  })

  it('is read by skopeo (inspect, copy) and, once untarred, by umoci', async () => {
    await exportArchive(source, NAMES, `${tmp.path}/images.tar`)
    const {stdout} = await run('skopeo', ['inspect', `oci-archive:${tmp.path}/images.tar:${NAME_A}`])
    const info = JSON.parse(stdout) as {Layers: string[]; Labels: Record<string, string>}
    const a = await source.getManifest((await source.resolveRef(NAME_A))!.digest) as ImageManifest
    expect(info.Layers).toEqual(a.layers.map(l => l.digest))
    expect(info.Labels).toEqual({'test.image': 'a'})

    await run('skopeo', ['copy', '--quiet', `oci-archive:${tmp.path}/images.tar:${NAME_C}`, `oci:${tmp.path}/copied:x`])
    const copied = await OciStore.open(`${tmp.path}/copied`)
    expect((await copied.listRefs()).map(r => r.name)).toEqual(['x'])
    expect((await copied.verify()).ok).toBe(true)

    await mkdir(`${tmp.path}/untarred`)
    await run('tar', ['-xf', `${tmp.path}/images.tar`, '-C', `${tmp.path}/untarred`])
    await run('umoci', ['unpack', '--rootless', '--image', `${tmp.path}/untarred:${NAME_B}`, `${tmp.path}/bundle`])
    expect(await readFile(`${tmp.path}/bundle/rootfs/app/b.txt`, 'utf8')).toBe('image b\n')
    expect(await readFile(`${tmp.path}/bundle/rootfs/etc/os-release`, 'utf8')).toBe('ID=test\n')
  })

  it('writes to a stream, and exports only the images named', async () => {
    const out = new PassThrough()
    const chunks: Buffer[] = []
    out.on('data', c => chunks.push(c))
    const result = await exportArchive(source, [NAME_B], out)
    expect(out.writableEnded).toBe(true)
    const entries = await listTar(Buffer.concat(chunks))
    const b = await source.getManifest((await source.resolveRef(NAME_B))!.digest) as ImageManifest
    expect(entries.filter(e => e.type === 'file' && e.name.startsWith('blobs/')).length).toBe(4) // manifest, config, 2 layers
    expect(entries.map(e => e.name)).toContain(`blobs/${b.layers[1]!.digest.replace(':', '/')}`)
    expect(result).toEqual({images: 1, blobs: 4, bytes: Buffer.concat(chunks).length})
  })

  it('refuses an unknown name, and a store missing a blob, leaving no file behind', async () => {
    const err = await exportArchive(source, [NAME_A, 'nope'], `${tmp.path}/images.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect(err.kind).toBe('not-found')
    expect(err.message).toContain('no image named nope')

    const a = await source.getManifest((await source.resolveRef(NAME_A))!.digest) as ImageManifest
    const {unlink} = await import('node:fs/promises')
    await unlink(source.paths.blob(a.layers[1]!.digest))
    const missing = await exportArchive(source, NAMES, `${tmp.path}/images.tar`).catch(e => e)
    expect(missing.kind).toBe('not-found')
    expect(missing.message).toContain(a.layers[1]!.digest)
    expect((await readdir(tmp.path)).sort()).toEqual(['source'])
  })

  it('fails on a corrupt blob in the store mid-stream and removes the half-written archive', async () => {
    const b = await source.getManifest((await source.resolveRef(NAME_B))!.digest) as ImageManifest
    const path = source.paths.blob(b.layers[1]!.digest)
    const bytes = await readFile(path)
    bytes[bytes.length - 1] ^= 0xff
    await writeFile(path, bytes)
    const err = await exportArchive(source, NAMES, `${tmp.path}/images.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect(err.kind).toBe('integrity')
    expect(err.message).toContain(b.layers[1]!.digest)
    expect((await readdir(tmp.path)).sort()).toEqual(['source'])
  })

  it('says clearly when the archive cannot be written', async () => {
    const err = await exportArchive(source, NAMES, `${tmp.path}/no/such/dir/images.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect(err.kind).toBe('environment')
    expect(err.message).toContain(`${tmp.path}/no/such/dir/images.tar`)
  })
})

describe('importArchive', () => {
  it('loads every image into an empty store: same names, same bytes, verify clean; a second run skips all', async () => {
    await exportArchive(source, NAMES, `${tmp.path}/images.tar`)
    const target = await OciStore.open(`${tmp.path}/target`)
    const progress: ArchiveProgress[] = []
    const result = await importArchive(target, `${tmp.path}/images.tar`, {onProgress: p => progress.push(p)})
    const size = (await readFile(`${tmp.path}/images.tar`)).length
    const blobs = await expectedBlobs()
    expect(result).toEqual({images: NAMES, blobsWritten: blobs.size, blobsSkipped: 0, bytes: size})
    expect(progress.at(-1)).toEqual({bytes: size, totalBytes: size})

    const sourceRefs = (await source.listRefs()).filter(r => r.name !== 'other')
    expect(await target.listRefs()).toEqual(sourceRefs)
    const got = await blobFiles(target)
    expect([...got.keys()].sort()).toEqual([...blobs.keys()].sort())
    for (const [digest, content] of got) expect(content.equals(blobs.get(digest)!)).toBe(true)
    expect(await target.verify()).toEqual({ok: true, checked: blobs.size, corrupt: [], missing: [], orphanTemp: []})
    expect(await readdir(target.paths.leasesDir)).toEqual([])
    await run('skopeo', ['inspect', `oci:${target.root}:${NAME_C}`])

    const before = await indexText(target)
    const again = await importArchive(target, createReadStream(`${tmp.path}/images.tar`))
    expect(again).toEqual({images: NAMES, blobsWritten: 0, blobsSkipped: blobs.size, bytes: size})
    expect(await indexText(target)).toBe(before)
  })

  it('keeps the store\'s other names, and replaces a name the archive also holds', async () => {
    await exportArchive(source, [NAME_A], `${tmp.path}/images.tar`)
    const target = await OciStore.open(`${tmp.path}/target`)
    await makeImages(target)
    await target.setRef(NAME_A, (await target.resolveRef('other'))!)
    await importArchive(target, `${tmp.path}/images.tar`)
    expect((await target.listRefs()).map(r => r.name)).toEqual([NAME_A, NAME_B, NAME_C, 'other'])
    expect(await target.resolveRef(NAME_A)).toEqual(await source.resolveRef(NAME_A))
  })

  it('loads an oci-archive that skopeo wrote', async () => {
    await run('skopeo', ['copy', '--quiet', `oci:${source.root}:${NAME_A}`, `oci-archive:${tmp.path}/skopeo.tar:${NAME_A}`])
    const target = await OciStore.open(`${tmp.path}/target`)
    const result = await importArchive(target, `${tmp.path}/skopeo.tar`)
    expect(result.images).toEqual([NAME_A])
    expect((await target.resolveRef(NAME_A))!.digest).toBe((await source.resolveRef(NAME_A))!.digest)
    expect((await target.verify()).ok).toBe(true)
  })

  it('says which file is missing', async () => {
    const target = await OciStore.open(`${tmp.path}/target`)
    const err = await importArchive(target, `${tmp.path}/nothing.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect(err.kind).toBe('not-found')
    expect(err.message).toContain('nothing.tar')
    await expect(access(`${tmp.path}/nothing.tar`)).rejects.toThrow()
  })
})
