import {execFile} from 'node:child_process'
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'

import {type Digest, sha256Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {Descriptor, ImageIndex, ImageManifest} from '../../../src/oci/types.js'
import {OciStore} from '../../../src/store/index.js'
import {filesTar} from '../../helpers/tar.js'

export const run = promisify(execFile)

/** Names shaped like the stages cache's, with a colon as in `dimgstage-<project>:<signature>`. */
export const NAME_A = `dimgstage-proj:${'a1'.repeat(32)}`
export const NAME_B = `dimgstage-proj:${'b2'.repeat(32)}`
export const NAME_C = `dimgstage-proj:${'c3'.repeat(32)}`

async function layer(store: OciStore, files: Record<string, string | Buffer>): Promise<{descriptor: Descriptor; diffId: Digest}> {
  const raw = await filesTar(files)
  const gz = gzipSync(raw)
  const {digest, size} = await store.writeBlobBytes(gz)
  return {descriptor: {mediaType: MediaType.OciLayerGzip, digest, size}, diffId: sha256Digest(raw)}
}

async function image(store: OciStore, layers: {descriptor: Descriptor; diffId: Digest}[], label: string): Promise<Descriptor> {
  const config = await store.writeJson({
    architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z',
    config: {Cmd: ['/bin/sh'], Labels: {'test.image': label}},
    rootfs: {type: 'layers', diff_ids: layers.map(l => l.diffId)},
    history: layers.map(() => ({created: '1970-01-01T00:00:00Z', created_by: 'slipway test'})),
  }, MediaType.OciConfig)
  const manifest: ImageManifest = {schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: layers.map(l => l.descriptor)}
  return store.writeJson(manifest, MediaType.OciManifest)
}

/**
 * Three images: A and B share a base layer; C is an index of one linux/amd64 manifest. Plus an unrelated
 * image `other` that an export of A, B, C must leave out.
 */
export async function makeImages(store: OciStore): Promise<void> {
  const base = await layer(store, {'etc/os-release': 'ID=test\n', 'bin/tool': 'base tool\n'})
  const a = await layer(store, {'app/a.txt': 'image a\n'})
  const b = await layer(store, {'app/b.txt': 'image b\n'})
  const c = await layer(store, {'app/c.txt': 'image c\n'})
  const o = await layer(store, {'app/o.txt': 'other\n'})
  await store.setRef(NAME_A, await image(store, [base, a], 'a'), {'dimg.stage': 'install'})
  await store.setRef(NAME_B, await image(store, [base, b], 'b'))
  const inner = await image(store, [c], 'c')
  const index: ImageIndex = {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{...inner, platform: {architecture: 'amd64', os: 'linux'}}]}
  await store.setRef(NAME_C, await store.writeJson(index, MediaType.OciIndex))
  await store.setRef('other', await image(store, [o], 'other'))
}

/** Every blob file in the store, digest → bytes. */
export async function blobFiles(store: OciStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const dir = store.paths.algorithmDir('sha256')
  for (const hex of await readdir(dir)) out.set(`sha256:${hex}`, await readFile(join(dir, hex)))
  return out
}

/** What a user sees of the store: index.json byte for byte. */
export function indexText(store: OciStore): Promise<string> {
  return readFile(store.paths.indexFile, 'utf8')
}
