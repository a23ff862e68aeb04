import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {type Digest, sha256Digest} from '../oci/digest.js'
import {isIndexMediaType, MediaType} from '../oci/media-types.js'
import {formatRef, type Ref, type Repository, repositoryName} from '../oci/ref.js'
import type {Descriptor, ImageIndex, ImageManifest} from '../oci/types.js'
import {toOciManifest} from '../oci/docker-schema2.js'
import {isImageIndex} from '../oci/types.js'
import {SOURCE_ANNOTATION} from '../naming/index.js'
import type {FetchedManifest} from '../registry/index.js'
import {forEachBlob, imageTransferred, type TransferredBlob} from './blobs.js'
import type {TransferContext} from './context.js'
import {imageBlobs, parseManifest} from './manifests.js'

export interface PullItem {
  ref: Ref
  /** The name in the local store. */
  name: string
  annotations?: Record<string, string>
  /** Copy the manifest's own annotations onto the index entry (stage labels, so listings read no manifest). */
  keepManifestAnnotations?: boolean
  /** The manifest, when the caller already fetched it from `ref` (it is not fetched again). */
  prefetched?: FetchedManifest
}

export interface PulledImage {
  ref: string
  name: string
  digest: Digest
}

export interface PullResult {
  images: PulledImage[]
  blobs: TransferredBlob[]
}

/** The `linux/<arch>` platform of this machine, in OCI terms. */
export function hostPlatform(): {os: string; architecture: string} {
  const arch: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x'}
  return {os: 'linux', architecture: arch[process.arch] ?? process.arch}
}

function pickPlatform(index: ImageIndex, ref: Ref): Descriptor {
  const want = hostPlatform()
  const match = index.manifests.find(d => d.platform?.os === want.os && d.platform?.architecture === want.architecture)
  if (!match) {
    const have = index.manifests.map(d => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : 'unknown')).join(', ')
    throw new SlipwayError('not-found', `${formatRef(ref)} has no image for ${want.os}/${want.architecture} (it has: ${have || 'none'})`)
  }
  return match
}

/**
 * Pulls images into the local store: manifests verified by digest, blobs streamed through the store's
 * verifying writer, names set only once every blob is in place.
 */
export async function pullImages(ctx: TransferContext, items: PullItem[]): Promise<PullResult> {
  const store = await ctx.store()
  const client = await ctx.registry()
  const lease = await store.lease()
  try {
    const limit = pLimit(ctx.jobs)
    const fetched = await Promise.all(
      items.map(item =>
        limit(async () => {
          let got = item.prefetched ?? (await client.getManifest(item.ref))
          let manifest = parseManifest(got.bytes, formatRef(item.ref))
          if (isImageIndex(manifest) || isIndexMediaType(got.mediaType)) {
            const child = pickPlatform(manifest as ImageIndex, item.ref)
            got = await client.getManifest({registry: item.ref.registry, path: item.ref.path, digest: child.digest})
            manifest = parseManifest(got.bytes, formatRef(item.ref))
            if (isImageIndex(manifest)) throw new SlipwayError('registry', `${formatRef(item.ref)}: nested image indexes are not supported`)
          }
          // the local store is an OCI layout: a Docker schema 2 image is kept as OCI (same config and layers)
          if (got.mediaType === MediaType.DockerManifest || (manifest as ImageManifest).mediaType === MediaType.DockerManifest) {
            const oci = toOciManifest(manifest as ImageManifest)
            const bytes = Buffer.from(JSON.stringify(oci))
            return {item, got: {bytes, digest: sha256Digest(bytes), mediaType: MediaType.OciManifest}, manifest: oci}
          }
          return {item, got, manifest: manifest as ImageManifest}
        }),
      ),
    )
    const blobs: TransferredBlob[] = []
    const byRepo = new Map<string, {repo: Repository; blobs: Descriptor[]}>()
    for (const {item, manifest} of fetched) {
      const key = repositoryName(item.ref)
      const group = byRepo.get(key) ?? {repo: {registry: item.ref.registry, path: item.ref.path}, blobs: []}
      group.blobs.push(...imageBlobs(manifest))
      byRepo.set(key, group)
    }
    // one lease update for everything this pull references (each update rewrites and syncs the lease file),
    // before any of it is written or found present: from then on no gc removes it
    const referenced = new Set([...fetched.map(f => f.got.digest), ...[...byRepo.values()].flatMap(g => g.blobs.map(d => d.digest))])
    if (referenced.size > 0) await lease.add(...referenced)
    const seen = new Set<string>()
    for (const {repo, blobs: wanted} of byRepo.values()) {
      const fresh = wanted.filter(d => !seen.has(d.digest))
      for (const d of fresh) seen.add(d.digest)
      blobs.push(
        ...(await forEachBlob(fresh, ctx.jobs, async d => {
          ctx.transfers.record(repo, d.digest)
          if (await store.hasBlob(d.digest)) return ctx.transfers.count({digest: d.digest, size: d.size, outcome: 'present'})
          const id = `pull ${d.digest}`
          ctx.reporter.begin(id, `${repo.path}@${d.digest.slice(7, 19)}`, {total: d.size, detail: true})
          ctx.reporter.phase(id, 'downloading')
          // the store's writer hashes what it writes and keeps nothing that does not match: no second hash here
          const open = () => client.getBlob(repo, d.digest, {size: d.size, checkDigest: false, onProgress: bytes => ctx.reporter.progress(id, bytes)})
          await store.writeBlob(open, {digest: d.digest, size: d.size}, lease)
          ctx.reporter.end(id, 'pulled')
          return ctx.transfers.count({digest: d.digest, size: d.size, outcome: 'pulled'})
        })),
      )
    }
    const updates = await Promise.all(
      fetched.map(({item, got, manifest}) =>
        limit(async () => {
          await store.writeBlobBytes(got.bytes, {digest: got.digest, size: got.bytes.length}, lease)
          return {
            name: item.name,
            descriptor: {mediaType: got.mediaType, digest: got.digest, size: got.bytes.length},
            annotations: {
              ...(item.keepManifestAnnotations ? manifest.annotations : {}),
              [SOURCE_ANNOTATION]: repositoryName(item.ref),
              ...item.annotations,
            },
          }
        }),
      ),
    )
    await store.setRefs(updates)
    const pulledHere = new Set(blobs.filter(b => b.outcome === 'pulled').map(b => b.digest))
    for (const {item, manifest} of fetched) ctx.reporter.image(imageTransferred('pulled', formatRef(item.ref), imageBlobs(manifest), d => pulledHere.has(d.digest)))
    return {
      images: fetched.map(({item, got}) => ({ref: formatRef(item.ref), name: item.name, digest: got.digest})),
      blobs,
    }
  } finally {
    await lease.release()
  }
}
