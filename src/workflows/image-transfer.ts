import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {type Digest, sha256Digest} from '../oci/digest.js'
import {isIndexMediaType, MediaType} from '../oci/media-types.js'
import {formatRef, type Ref, type Repository, repositoryName} from '../oci/ref.js'
import type {AnyManifest, Descriptor, ImageIndex, ImageManifest} from '../oci/types.js'
import {toDockerSchema2, toOciManifest} from '../oci/docker-schema2.js'
import {manifestProblem} from '../oci/validate.js'
import {isImageIndex} from '../oci/types.js'
import type {FetchedManifest, RegistryClient} from '../registry/index.js'
import type {OciStore} from '../store/index.js'
import type {WorkflowContext} from './context.js'

/** Index-entry annotation naming the registry repository an image was pulled from (for cross-repo mounts). */
export const SOURCE_ANNOTATION = 'dev.slipway.source'

export type BlobOutcome = 'uploaded' | 'exists' | 'mounted' | 'pulled' | 'present'

export interface TransferredBlob {
  digest: Digest
  size: number
  outcome: BlobOutcome
}

export interface PushItem {
  /** The manifest in the local store. */
  manifest: Descriptor
  ref: Ref
  /** First writer wins: leave a tag that already exists as the registry has it. */
  ifAbsent?: boolean
}

export interface PushedImage {
  ref: string
  digest: Digest
  /** `pushed`, or `exists` when the tag was already there and ifAbsent kept it. */
  status: 'pushed' | 'exists'
}

export interface PushResult {
  images: PushedImage[]
  blobs: TransferredBlob[]
}

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

function parseManifest(bytes: Buffer, what: string): AnyManifest {
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new SlipwayError('registry', `${what} is not a valid image manifest: it is not JSON`, {hint: 'the image is corrupt or not a container image'})
  }
  const problem = manifestProblem(doc)
  if (problem) throw new SlipwayError('registry', `${what} is not a valid image manifest: ${problem}`, {hint: 'the image is corrupt or not a container image'})
  return doc as AnyManifest
}

/**
 * Every blob of a manifest was confirmed in the repository before its PUT, so a MANIFEST_BLOB_UNKNOWN
 * answer is the registry racing with another writer linking the same blob (distribution's filesystem
 * driver rewrites link files in place): it is tried again after a short pause.
 */
async function retryBlobUnknown<T>(put: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await put()
    } catch (e) {
      const codes = (e as {codes?: string[]}).codes ?? []
      if (attempt >= attempts || !(e instanceof SlipwayError) || !codes.includes('MANIFEST_BLOB_UNKNOWN')) throw e
      await new Promise(resolve => setTimeout(resolve, 150 * attempt))
    }
  }
}

/** A registry's answer to an OCI manifest it does not accept (400 MANIFEST_INVALID / UNSUPPORTED, or 415). */
function refusesOciManifest(e: unknown): boolean {
  if (!(e instanceof SlipwayError)) return false
  const {status, codes} = e as SlipwayError & {status?: number; codes?: string[]}
  if (status === 415) return true
  return status === 400 && (codes ?? []).some(c => c === 'MANIFEST_INVALID' || c === 'UNSUPPORTED' || c === 'UNSUPPORTED_MEDIA_TYPE')
}

function imageBlobs(m: ImageManifest): Descriptor[] {
  return [m.config, ...m.layers]
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
 * Runs `fn` over distinct digests with bounded parallelism, largest blobs first: the transfer ends with
 * the last large blob, so large ones must not wait for a free slot behind small ones.
 */
export async function forEachBlob<T>(blobs: Descriptor[], jobs: number, fn: (d: Descriptor) => Promise<T>): Promise<T[]> {
  const limit = pLimit(jobs)
  const seen = new Map<string, Descriptor>()
  for (const b of blobs) if (!seen.has(b.digest)) seen.set(b.digest, b)
  const results = new Map<string, Promise<T>>()
  // after a failure no blob starts, and the first failure is thrown once the running ones ended (their temp
  // files removed): the caller's cleanup then never races a transfer still writing
  let failure: {error: unknown} | undefined
  const run = async (d: Descriptor): Promise<T> => {
    if (failure) throw failure.error
    try {
      return await fn(d)
    } catch (e) {
      failure ??= {error: e}
      throw e
    }
  }
  for (const d of [...seen.values()].sort((a, b) => b.size - a.size)) results.set(d.digest, limit(() => run(d)))
  const settled = await Promise.allSettled([...seen.keys()].map(digest => results.get(digest)!))
  if (failure) throw failure.error
  return settled.map(r => (r as PromiseFulfilledResult<T>).value)
}

/** Repositories of the same registry that images in the store came from: candidates for a blob mount. */
async function mountCandidates(store: OciStore, target: Repository): Promise<string[]> {
  const out = new Set<string>()
  for (const entry of await store.listRefs()) {
    const src = entry.descriptor.annotations?.[SOURCE_ANNOTATION]
    if (!src) continue
    const slash = src.indexOf('/')
    if (src.slice(0, slash) === target.registry && src.slice(slash + 1) !== target.path) out.add(src.slice(slash + 1))
  }
  return [...out]
}

async function pushBlobs(ctx: WorkflowContext, client: RegistryClient, store: OciStore, repo: Repository, blobs: Descriptor[], alsoFrom: string[]): Promise<TransferredBlob[]> {
  const mountFrom = [...new Set([...alsoFrom, ...(await mountCandidates(store, repo))])]
  return forEachBlob(blobs, ctx.jobs, async d => {
    const id = `push ${d.digest}`
    ctx.reporter.begin(id, `${repo.path}@${d.digest.slice(7, 19)}`, d.size)
    // not hashed here: the registry checks the digest of every upload, and its refusal names the damaged blob
    const outcome = await client.pushBlob(repo, {digest: d.digest, size: d.size, mediaType: d.mediaType}, () => store.openBlob(d.digest, {verify: false}), {
      mountFrom,
      sourceHint: `the local store's copy is damaged: run \`slipway store verify\`, then build or pull the image again`,
      onProgress: bytes => ctx.reporter.progress(id, bytes),
    })
    ctx.reporter.end(id, outcome)
    return {digest: d.digest, size: d.size, outcome}
  })
}

/**
 * Pushes images from the local store. Tags that must be written once (stage tags) are checked first and
 * left alone when present; every distinct blob is checked once and sent only when missing.
 */
export async function pushImages(ctx: WorkflowContext, items: PushItem[]): Promise<PushResult> {
  const store = await ctx.store()
  const client = await ctx.registry()
  const limit = pLimit(ctx.jobs)
  const existing = await Promise.all(items.map(item => limit(async () => (item.ifAbsent ? client.headManifest(item.ref) : undefined))))
  const images: PushedImage[] = []
  const wanted: PushItem[] = []
  for (const [i, item] of items.entries()) {
    const found = existing[i]
    if (found) {
      images.push({ref: formatRef(item.ref), digest: found.digest, status: 'exists'})
      ctx.reporter.info(`${formatRef(item.ref)}: already in the registry, kept as it is`)
      continue
    }
    wanted.push(item)
  }
  const todo = await Promise.all(
    wanted.map(item =>
      limit(async () => {
        const bytes = await store.readBlob(item.manifest.digest)
        return {item, bytes, manifest: parseManifest(bytes, `local image ${item.manifest.digest}`)}
      }),
    ),
  )
  // blobs grouped by target repository, each distinct blob once
  const byRepo = new Map<string, {repo: Repository; blobs: Descriptor[]}>()
  for (const {item, manifest} of todo) {
    if (isImageIndex(manifest)) throw new SlipwayError('usage', `${formatRef(item.ref)}: pushing image indexes is not supported`)
    const key = repositoryName(item.ref)
    const group = byRepo.get(key) ?? {repo: {registry: item.ref.registry, path: item.ref.path}, blobs: []}
    group.blobs.push(...imageBlobs(manifest))
    byRepo.set(key, group)
  }
  const blobs: TransferredBlob[] = []
  // repositories are filled one after the other, so later ones can mount what earlier ones received
  const filled: Repository[] = []
  for (const {repo, blobs: wanted} of byRepo.values()) {
    const sameRegistry = filled.filter(r => r.registry === repo.registry).map(r => r.path)
    blobs.push(...(await pushBlobs(ctx, client, store, repo, wanted, sameRegistry)))
    filled.push(repo)
  }
  // registries found to refuse OCI manifests in this push get Docker schema 2 straight away
  const refusesOci = new Set<string>()
  const putDockerSchema2 = (ref: Ref, manifest: ImageManifest): Promise<Digest> =>
    client.putManifest(ref, Buffer.from(JSON.stringify(toDockerSchema2(manifest))), MediaType.DockerManifest)
  await Promise.all(
    todo.map(({item, bytes, manifest}) =>
      limit(async () => {
        const mediaType = item.manifest.mediaType ?? MediaType.OciManifest
        const isOci = mediaType === MediaType.OciManifest
        const put = async (): Promise<Digest> => {
          if (isOci && refusesOci.has(item.ref.registry)) return putDockerSchema2(item.ref, manifest as ImageManifest)
          try {
            return await client.putManifest(item.ref, bytes, mediaType)
          } catch (e) {
            if (!isOci || !refusesOciManifest(e)) throw e
            if (!refusesOci.has(item.ref.registry)) {
              refusesOci.add(item.ref.registry)
              ctx.reporter.warn(`${item.ref.registry} refuses OCI manifests; pushing Docker schema 2 manifests instead`)
            }
            return putDockerSchema2(item.ref, manifest as ImageManifest)
          }
        }
        const digest = await retryBlobUnknown(put)
        images.push({ref: formatRef(item.ref), digest, status: 'pushed'})
        ctx.reporter.info(`pushed ${formatRef(item.ref)}`)
      }),
    ),
  )
  return {images, blobs}
}

/**
 * Pulls images into the local store: manifests verified by digest, blobs streamed through the store's
 * verifying writer, names set only once every blob is in place.
 */
export async function pullImages(ctx: WorkflowContext, items: PullItem[]): Promise<PullResult> {
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
          if (await store.hasBlob(d.digest)) return {digest: d.digest, size: d.size, outcome: 'present' as const}
          const id = `pull ${d.digest}`
          ctx.reporter.begin(id, `${repo.path}@${d.digest.slice(7, 19)}`, d.size)
          // the store's writer hashes what it writes and keeps nothing that does not match: no second hash here
          const open = () => client.getBlob(repo, d.digest, {size: d.size, checkDigest: false, onProgress: bytes => ctx.reporter.progress(id, bytes)})
          await store.writeBlob(open, {digest: d.digest, size: d.size}, lease)
          ctx.reporter.end(id, 'pulled')
          return {digest: d.digest, size: d.size, outcome: 'pulled' as const}
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
    return {
      images: fetched.map(({item, got}) => ({ref: formatRef(item.ref), name: item.name, digest: got.digest})),
      blobs,
    }
  } finally {
    await lease.release()
  }
}
