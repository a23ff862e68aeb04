import {readFile, writeFile} from 'node:fs/promises'
import {gzipSync} from 'node:zlib'

import {SlipwayError} from '../../../src/errors.js'
import {sha256Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import {exportArchive, importArchive, OciStore} from '../../../src/store/index.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {listTar, tarOf} from '../../helpers/tar.js'
import {indexText, makeImages, NAME_A, NAME_B, NAME_C} from './support.js'

let dir: string
let archive: Buffer
let target: OciStore
let indexBefore: string

beforeAll(async () => {
  dir = await makeTempDir('store-archive-damaged')
  const source = await OciStore.open(`${dir}/source`)
  await makeImages(source)
  await exportArchive(source, [NAME_A, NAME_B, NAME_C], `${dir}/original.tar`)
  archive = await readFile(`${dir}/original.tar`)
})
afterAll(() => removeTempDir(dir))

let n = 0
beforeEach(async () => {
  // a store that already holds something: its names must survive every refused import
  target = await OciStore.open(`${dir}/target-${n++}`)
  const m = await target.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: MediaType.OciEmpty, digest: sha256Digest('{}'), size: 2}, layers: []}, MediaType.OciManifest)
  await target.writeBlobBytes('{}')
  await target.setRef('kept', m)
  indexBefore = await indexText(target)
})

async function importBytes(bytes: Buffer, name = 'images.tar'): Promise<SlipwayError> {
  const path = `${dir}/${name}`
  await writeFile(path, bytes)
  const err = await importArchive(target, path).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(SlipwayError)
  return err as SlipwayError
}

async function expectUnchanged(): Promise<void> {
  expect(await indexText(target)).toBe(indexBefore)
  const report = await target.verify()
  expect(report.ok).toBe(true)
  expect(report.orphanTemp).toEqual([])
}

describe('a truncated archive', () => {
  it('is refused at every cut, with a clear line, and the store unchanged', async () => {
    const entries = await listTar(archive)
    const biggest = entries.filter(e => e.name.startsWith('blobs/')).reduce((a, b) => (b.size > a.size ? b : a))
    const index = entries.find(e => e.name === 'index.json')!
    const cuts = {
      'empty file': 0,
      'mid oci-layout header': 100,
      'mid blob': biggest.offset + Math.floor(biggest.size / 2),
      'right after a blob': biggest.offset + Math.ceil(biggest.size / 512) * 512,
      'before index.json': index.offset - 512,
      'mid index.json': index.offset + 10,
      'one byte short of index.json': index.offset + index.size - 1,
    }
    for (const [what, at] of Object.entries(cuts)) {
      const err = await importBytes(archive.subarray(0, at))
      expect([what, err.kind]).toEqual([what, 'integrity'])
      expect(err.message).toMatch(/^images\.tar is truncated or corrupt: /)
      expect(err.message).not.toContain('\n')
      expect(err.hint).toContain('export it again')
      await expectUnchanged()
    }
    // cut inside or before the end-of-archive zero blocks: every entry is whole, so it loads
    for (const at of [archive.length - 512, archive.length - 1024]) {
      await writeFile(`${dir}/images.tar`, archive.subarray(0, at))
      expect((await importArchive(target, `${dir}/images.tar`)).images).toEqual([NAME_A, NAME_B, NAME_C])
    }
  })

  it('names the cause: mid-entry end, or no index.json', async () => {
    const index = (await listTar(archive)).find(e => e.name === 'index.json')!
    expect((await importBytes(archive.subarray(0, index.offset - 512))).message).toContain('no index.json')
    expect((await importBytes(archive.subarray(0, index.offset + 10))).message).toContain('ends in the middle of an entry')
  })
})

describe('a tampered archive', () => {
  it('a flipped byte inside a blob is refused, and that blob is not stored', async () => {
    const entries = await listTar(archive)
    const layer = entries.filter(e => e.name.startsWith('blobs/')).reduce((a, b) => (b.size > a.size ? b : a))
    const bad = Buffer.from(archive)
    bad[layer.offset + Math.floor(layer.size / 2)] ^= 0x01
    const err = await importBytes(bad)
    expect(err.kind).toBe('integrity')
    expect(err.message).toMatch(/^images\.tar is truncated or corrupt: blob sha256:[0-9a-f]{64} does not match/)
    expect(await target.hasBlob(layer.name.replace('blobs/sha256/', 'sha256:') as never)).toBe(false)
    await expectUnchanged()
  })

  it('a flipped byte in a blob the store already has is refused too', async () => {
    await importArchive(target, `${dir}/original.tar`)
    indexBefore = await indexText(target)
    const layer = (await listTar(archive)).filter(e => e.name.startsWith('blobs/')).reduce((a, b) => (b.size > a.size ? b : a))
    const bad = Buffer.from(archive)
    bad[layer.offset] ^= 0x01
    const err = await importBytes(bad, 'again.tar')
    expect(err.message).toMatch(/^again\.tar is truncated or corrupt: blob sha256:[0-9a-f]{64} in it hashes to sha256:/)
    await expectUnchanged()
  })

  it('a damaged header, a gzipped archive and a file that is no tar are refused', async () => {
    const bad = Buffer.from(archive)
    bad[5] ^= 0x20 // inside the first header's name: checksum no longer matches
    expect((await importBytes(bad)).message).toContain('a tar header is damaged')
    expect((await importBytes(gzipSync(archive))).message).toContain('a tar header is damaged')
    expect((await importBytes(Buffer.from('hello\n'.repeat(200)))).kind).toBe('integrity')
    await expectUnchanged()
  })
})

describe('a hostile or foreign archive', () => {
  const layout = {header: {name: 'oci-layout'}, content: '{"imageLayoutVersion":"1.0.0"}'}
  const config = '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
  const manifest = JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: MediaType.OciConfig, digest: sha256Digest(config), size: config.length}, layers: []})
  const blob = (content: string) => ({header: {name: `blobs/sha256/${sha256Digest(content).slice(7)}`}, content})
  const indexOf = (manifests: object[]) => ({header: {name: 'index.json'}, content: JSON.stringify({schemaVersion: 2, manifests})})
  const named = {mediaType: MediaType.OciManifest, digest: sha256Digest(manifest), size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'evil'}}

  it.each([
    ['a ".." path', [layout, {header: {name: 'blobs/../../etc/passwd'}, content: 'x'}], 'climbs out with ".."'],
    ['an absolute path', [layout, {header: {name: '/etc/passwd'}, content: 'x'}], 'absolute path'],
    ['a symlink', [layout, {header: {name: `blobs/sha256/${'0'.repeat(64)}`, type: 'symlink' as const, linkname: '/etc/passwd'}}], 'is a symlink'],
    ['a hard link', [layout, {header: {name: `blobs/sha256/${'0'.repeat(64)}`, type: 'link' as const, linkname: 'oci-layout'}}], 'is a link'],
    ['an unexpected file', [layout, {header: {name: 'run.sh'}, content: 'rm -rf /'}], 'unexpected entry "run.sh"'],
    ['a blob name that is no digest', [layout, {header: {name: 'blobs/sha256/abc'}, content: 'x'}], 'unexpected entry "blobs/sha256/abc"'],
    ['no oci-layout', [blob(config), blob(manifest), indexOf([named])], 'no oci-layout'],
    ['another layout version', [{header: {name: 'oci-layout'}, content: '{"imageLayoutVersion":"9"}'}], 'not an OCI image layout version 1.0.0'],
    ['an index entry without a name', [layout, blob(config), blob(manifest), indexOf([{...named, annotations: {}}])], 'entry without a name'],
    ['an index that is not JSON', [layout, {header: {name: 'index.json'}, content: '{"schemaVersion": 2,'}], 'index.json is not valid JSON'],
    ['an image whose blob is absent', [layout, blob(manifest), indexOf([named])], `blob ${sha256Digest(config)}, which ${sha256Digest(manifest)} references, is neither in it nor in the local store`],
    ['a blob of the wrong size', [layout, blob(config), blob(manifest), indexOf([{...named, size: 3}])], 'image evil says 3'],
  ])('%s is refused', async (_what, entries, message) => {
    const err = await importBytes(await tarOf(entries))
    expect(err.kind).toBe('integrity')
    expect(err.message).toMatch(/^images\.tar is truncated or corrupt: /)
    expect(err.message).toContain(message)
    await expectUnchanged()
  })

  it('the same entries, done right, load', async () => {
    const result = await importArchive(target, await (async () => {
      await writeFile(`${dir}/ok.tar`, await tarOf([layout, blob(config), blob(manifest), indexOf([named])]))
      return `${dir}/ok.tar`
    })())
    expect(result.images).toEqual(['evil'])
    expect((await target.listRefs()).map(r => r.name)).toEqual(['kept', 'evil'])
  })
})
