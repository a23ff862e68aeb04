import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import {sha256Digest, type Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {Repository} from '../../../src/oci/ref.js'
import type {RegistryClient} from '../../../src/registry/index.js'

export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of stream) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

export function blobOf(bytes: Buffer): {digest: Digest; size: number; open: () => Readable} {
  return {digest: sha256Digest(bytes), size: bytes.length, open: () => Readable.from([bytes])}
}

/** Pushes a random layer and config and an image manifest for them; returns the manifest bytes and digest. */
export async function pushTinyImage(client: RegistryClient, repo: Repository, tag: string, note = randomBytes(4).toString('hex')): Promise<{bytes: Buffer; digest: Digest}> {
  const layer = blobOf(gzipSync(randomBytes(256)))
  const config = blobOf(Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [layer.digest]}, config: {Labels: {note}}})))
  await client.pushBlob(repo, layer, layer.open)
  await client.pushBlob(repo, config, config.open)
  const manifest = {
    schemaVersion: 2, mediaType: MediaType.OciManifest,
    config: {mediaType: MediaType.OciConfig, digest: config.digest, size: config.size},
    layers: [{mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size}],
  }
  const bytes = Buffer.from(JSON.stringify(manifest))
  const digest = await client.putManifest({...repo, tag}, bytes, MediaType.OciManifest)
  return {bytes, digest}
}
