import {randomBytes} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import pLimit from 'p-limit'

import {sha256Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import {parseRepository, withDigest, withTag} from '../../../src/oci/ref.js'
import {RegistryClient, RegistryError} from '../../../src/registry/index.js'
import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {blobOf, pushTinyImage, readAll} from './support.js'

let reg: TestRegistry
let client: RegistryClient

beforeAll(async () => {
  reg = await startRegistry('plain')
  client = new RegistryClient({env: {}, monolithicUploadMax: 64 * 1024, chunkSize: 100 * 1024})
})
afterAll(async () => {
  await client?.close()
  await reg?.stop()
})

describe('RegistryClient against distribution 2.8 over plain HTTP', () => {
  it('pings over http after the https probe', async () => {
    expect(await client.ping(reg.host)).toEqual({url: `http://${reg.host}/`, auth: 'none'})
  })

  it('pushes blobs (monolithic and chunked) and reads them back byte-identical', async () => {
    const repo = parseRepository(`${reg.host}/round/trip`)
    for (const size of [1000, 350 * 1024]) {
      const data = randomBytes(size)
      const blob = blobOf(data)
      const progress: number[] = []
      expect(await client.pushBlob(repo, blob, blob.open, {onProgress: (n) => progress.push(n)})).toBe('uploaded')
      expect(progress.at(-1)).toBe(size)
      expect(await client.headBlob(repo, blob.digest)).toEqual({size})
      expect((await readAll(await client.getBlob(repo, blob.digest, {size}))).equals(data)).toBe(true)
      expect(await client.pushBlob(repo, blob, blob.open)).toBe('exists')
    }
    // The chunked upload went as several PATCH requests: the registry's file has the full content.
    expect(await client.headBlob(repo, sha256Digest(randomBytes(8)))).toBeUndefined()
  })

  it('mounts a blob from another repository', async () => {
    const a = parseRepository(`${reg.host}/mount/a`)
    const b = parseRepository(`${reg.host}/mount/b`)
    const blob = blobOf(randomBytes(5000))
    await client.pushBlob(a, blob, blob.open)
    let opened = 0
    const result = await client.pushBlob(b, blob, () => { opened++; return blob.open() }, {mountFrom: ['mount/nowhere', 'mount/a']})
    expect(result).toBe('mounted')
    expect(opened).toBe(0)
    expect(await client.headBlob(b, blob.digest)).toEqual({size: 5000})
    // Mount from a repository lacking the blob falls back to an upload.
    const other = blobOf(randomBytes(100))
    expect(await client.pushBlob(b, other, other.open, {mountFrom: ['mount/a']})).toBe('uploaded')
  })

  it('puts, heads, gets and deletes manifests with digests verified', async () => {
    const repo = parseRepository(`${reg.host}/manifests/app`)
    const {bytes, digest} = await pushTinyImage(client, repo, 'v1')
    const byTag = await client.getManifest(withTag(repo, 'v1'))
    expect(byTag).toEqual({bytes, digest, mediaType: MediaType.OciManifest})
    expect((await client.getManifest(withDigest(repo, digest))).bytes.equals(bytes)).toBe(true)
    expect(await client.headManifest(withTag(repo, 'v1'))).toEqual({digest, mediaType: MediaType.OciManifest, size: bytes.length})
    expect(await client.headManifest(withTag(repo, 'missing'))).toBeUndefined()
    await expect(client.getManifest(withTag(repo, 'missing'))).rejects.toMatchObject({kind: 'not-found', status: 404, codes: ['MANIFEST_UNKNOWN']})
    // By digest without a tag.
    expect(await client.putManifest(withDigest(repo, digest), bytes, MediaType.OciManifest)).toBe(digest)
    expect(await client.deleteManifest(repo, digest)).toBe(true)
    expect(await client.deleteManifest(repo, digest)).toBe(false)
    expect(await client.headManifest(withTag(repo, 'v1'))).toBeUndefined()
  })

  it('refuses a manifest larger than the limit and one referencing unknown blobs', async () => {
    const repo = parseRepository(`${reg.host}/manifests/bad`)
    const small = new RegistryClient({env: {}, maxManifestBytes: 100})
    await expect(small.putManifest(withTag(repo, 'x'), Buffer.alloc(200, 32), MediaType.OciManifest)).rejects.toMatchObject({kind: 'registry'})
    await small.close()
    const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: MediaType.OciConfig, digest: sha256Digest('nope'), size: 4}, layers: []}))
    const e = await client.putManifest(withTag(repo, 'x'), manifest, MediaType.OciManifest).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(RegistryError)
    expect((e as RegistryError).status).toBe(400)
    expect((e as RegistryError).codes).toContain('MANIFEST_BLOB_UNKNOWN')
  })

  it('lists 1,050 tags across pages', async () => {
    const repo = parseRepository(`${reg.host}/many/tags`)
    const {bytes} = await pushTinyImage(client, repo, 'seed')
    const tags = Array.from({length: 1049}, (_, i) => `t${String(i).padStart(4, '0')}`)
    const limit = pLimit(16)
    await Promise.all(tags.map((tag) => limit(() => client.putManifest(withTag(repo, tag), bytes, MediaType.OciManifest))))
    const listed = await client.listTags(repo)
    expect(listed).toHaveLength(1050)
    expect(new Set(listed)).toEqual(new Set([...tags, 'seed']))
    const capped = new RegistryClient({env: {}, maxListEntries: 1001})
    await expect(capped.listTags(repo)).rejects.toMatchObject({kind: 'registry', message: expect.stringContaining('more than 1001')})
    await capped.close()
    expect(await client.listTags(parseRepository(`${reg.host}/never/pushed`))).toEqual([])
    expect(await client.catalog(reg.host)).toEqual(expect.arrayContaining(['many/tags', 'round/trip']))
  })

  it('deletes one tag without touching a second tag on the same digest', async () => {
    const repo = parseRepository(`${reg.host}/delete/tags`)
    const {bytes, digest} = await pushTinyImage(client, repo, 'keep')
    await client.putManifest(withTag(repo, 'drop'), bytes, MediaType.OciManifest)
    // distribution 2.8 has no DELETE by tag.
    const refused = await fetch(`${reg.url}/v2/delete/tags/manifests/drop`, {method: 'DELETE'})
    expect(refused.status).toBe(400)
    expect(await client.deleteTag(repo, 'drop')).toBe('repointed')
    expect((await client.listTags(repo)).sort()).toEqual(['keep'])
    expect((await client.headManifest(withTag(repo, 'keep')))?.digest).toBe(digest)
    // The unique-digest case deletes the manifest itself.
    const lone = await pushTinyImage(client, repo, 'lone')
    expect(await client.deleteTag(repo, 'lone')).toBe('deleted-manifest')
    expect(await client.headManifest(withDigest(repo, lone.digest))).toBeUndefined()
    expect(await client.listTags(repo)).toEqual(['keep'])
    await expect(client.deleteTag(repo, 'ghost')).rejects.toMatchObject({kind: 'not-found'})
  })

  it('reads an image skopeo pushed, and skopeo reads what we pushed', async () => {
    const ref = await pushBaseImage(reg, 'base/busybox', 'latest')
    const base = parseRepository(ref.replace(/:latest$/, ''))
    const manifest = await client.getManifest(withTag(base, 'latest'))
    const doc = JSON.parse(manifest.bytes.toString()) as {config: {digest: string; size: number}; layers: {digest: string; size: number}[]}
    for (const d of [doc.config, ...doc.layers]) {
      const bytes = await readAll(await client.getBlob(base, d.digest as never, {size: d.size}))
      expect(sha256Digest(bytes)).toBe(d.digest)
    }

    const mine = parseRepository(`${reg.host}/ours/image`)
    const {digest} = await pushTinyImage(client, mine, '1.0', 'for-skopeo')
    const dir = await makeTempDir('skopeo-out')
    await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('src'), `docker://${reg.host}/ours/image:1.0`, `oci:${join(dir, 'layout')}:x`])
    const index = JSON.parse(await readFile(join(dir, 'layout', 'index.json'), 'utf8')) as {manifests: {digest: string}[]}
    expect(index.manifests[0].digest).toBe(digest)
  })
})
