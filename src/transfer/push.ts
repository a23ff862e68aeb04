import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import type {Digest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import {formatRef, type Ref, type Repository, repositoryName} from '../oci/ref.js'
import type {Descriptor, ImageManifest} from '../oci/types.js'
import {toDockerSchema2} from '../oci/docker-schema2.js'
import {isImageIndex} from '../oci/types.js'
import type {RegistryClient} from '../registry/index.js'
import type {OciStore} from '../store/index.js'
import {type BlobOutcome, forEachBlob, imageTransferred, type TransferredBlob} from './blobs.js'
import type {TransferContext} from './context.js'
import {imageBlobs, parseManifest} from './manifests.js'
import {SOURCE_ANNOTATION} from '../naming/index.js'

export interface PushItem {
  /** The manifest in the local store. */
  manifest: Descriptor
  ref: Ref
  /** First writer wins: leave a tag that already exists as the registry has it. */
  ifAbsent?: boolean
  /**
   * A repository of the target's registry that holds the image's blobs (a stage in REPO): tried first as
   * the mount source, and read from — streamed through, never stored — for blobs the local store lacks.
   */
  source?: Repository
}

export interface PushedImage {
  ref: string
  digest: Digest
  /**
   * `pushed`, or `exists` when the tag was already there and ifAbsent kept it, or it already named this very
   * manifest (nothing was sent).
   */
  status: 'pushed' | 'exists'
}

export interface PushResult {
  images: PushedImage[]
  blobs: TransferredBlob[]
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

/** For each blob, the repositories of `registry` that images in the store came from and that contain it. */
async function storeSources(store: OciStore, registry: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const entry of await store.listRefs()) {
    const src = entry.descriptor.annotations?.[SOURCE_ANNOTATION]
    const slash = src?.indexOf('/') ?? -1
    if (!src || src.slice(0, slash) !== registry) continue
    let manifest
    try {
      manifest = await store.getManifest(entry.descriptor.digest)
    } catch {
      continue // a damaged entry only costs a mount candidate
    }
    if (isImageIndex(manifest)) continue
    for (const d of imageBlobs(manifest)) out.set(d.digest, [...(out.get(d.digest) ?? []), src.slice(slash + 1)])
  }
  return out
}

interface BlobTarget {
  repo: Repository
  blobs: Descriptor[]
  /** Where blobs of this repository's images live besides the store (PushItem.source), by digest. */
  sources: Map<string, Repository>
}

async function pushBlobs(ctx: TransferContext, client: RegistryClient, store: OciStore, target: BlobTarget, fromStore: Map<string, string[]>): Promise<TransferredBlob[]> {
  const {repo} = target
  return forEachBlob(target.blobs, ctx.jobs, async d => {
    const source = target.sources.get(d.digest)
    const inStore = await store.hasBlob(d.digest)
    if (!inStore && !source) throw new SlipwayError('internal', `blob ${d.digest} is neither in the local store nor in a source repository`)
    const id = `push ${d.digest}`
    const outcome = await ctx.transfers.place(repo, d.digest, async holders => {
      // known holders first (this run put it there), then the image's own repository, then where the store's copies came from
      const mountFrom = [...new Set([...holders, ...(source ? [source.path] : []), ...(fromStore.get(d.digest) ?? [])])]
      ctx.reporter.begin(id, `${repo.path}@${d.digest.slice(7, 19)}`, {total: d.size, detail: true})
      ctx.reporter.phase(id, 'uploading')
      const result = await client.pushBlob(
        repo,
        {digest: d.digest, size: d.size, mediaType: d.mediaType},
        // not hashed when read from the store: the registry checks the digest of every upload, and its refusal names the damaged blob
        () => (inStore ? store.openBlob(d.digest, {verify: false}) : client.getBlob(source!, d.digest, {size: d.size})),
        {
          mountFrom,
          sourceHint: inStore
            ? 'the local store\'s copy is damaged: run `slipway store verify`, then build or pull the image again'
            : `the copy in ${repositoryName(source!)} is damaged`,
          onProgress: bytes => ctx.reporter.progress(id, bytes),
        },
      )
      const done: BlobOutcome = result === 'uploaded' && !inStore ? 'copied' : result
      ctx.reporter.end(id, done)
      return done
    })
    return ctx.transfers.count({digest: d.digest, size: d.size, outcome})
  })
}

/**
 * Pushes images whose manifests are in the local store. Tags that must be written once (stage tags) are
 * checked first and left alone when present. Every distinct blob goes to each target repository once: found
 * there, mounted from a repository of the registry known to hold it, or sent — from the store, or streamed
 * from the item's source repository — and never sent twice to one registry in a run (TransferLedger).
 */
export async function pushImages(ctx: TransferContext, items: PushItem[]): Promise<PushResult> {
  const store = await ctx.store()
  const client = await ctx.registry()
  const limit = pLimit(ctx.jobs)
  // one HEAD per tag: a tag written once is left as it is, and a tag that already names the manifest needs
  // nothing (a re-run with nothing changed checks no blob and puts no manifest)
  const existing = await Promise.all(items.map(item => limit(() => client.headManifest(item.ref))))
  const images: PushedImage[] = []
  const wanted: PushItem[] = []
  for (const [i, item] of items.entries()) {
    const found = existing[i]
    if (found && (item.ifAbsent || found.digest === item.manifest.digest)) {
      images.push({ref: formatRef(item.ref), digest: found.digest, status: 'exists'})
      ctx.reporter.info(`${formatRef(item.ref)}: ${item.ifAbsent ? 'already in the registry, kept as it is' : 'already names this image'}`)
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
  // blobs grouped by target repository
  const byRepo = new Map<string, BlobTarget>()
  for (const {item, manifest} of todo) {
    if (isImageIndex(manifest)) throw new SlipwayError('usage', `${formatRef(item.ref)}: pushing image indexes is not supported`)
    if (item.source && item.source.registry !== item.ref.registry) throw new SlipwayError('internal', `${formatRef(item.ref)}: a source repository must be on the same registry`)
    const key = repositoryName(item.ref)
    const target: BlobTarget = byRepo.get(key) ?? {repo: {registry: item.ref.registry, path: item.ref.path}, blobs: [], sources: new Map()}
    target.blobs.push(...imageBlobs(manifest))
    if (item.source) for (const d of imageBlobs(manifest)) target.sources.set(d.digest, item.source)
    byRepo.set(key, target)
  }
  const sources = new Map<string, Promise<Map<string, string[]>>>()
  for (const {repo} of byRepo.values()) if (!sources.has(repo.registry)) sources.set(repo.registry, storeSources(store, repo.registry))
  // repositories are filled side by side: a blob two of them need goes up once, the second one mounts it
  const pushed = await Promise.all([...byRepo.entries()].map(async ([key, target]) => ({key, blobs: await pushBlobs(ctx, client, store, target, await sources.get(target.repo.registry)!)})))
  const blobs = pushed.flatMap(p => p.blobs)
  // what each repository's blobs did, for the one line per image
  const sent = new Map(pushed.map(p => [p.key, new Set(p.blobs.filter(b => b.outcome === 'uploaded' || b.outcome === 'copied').map(b => b.digest))]))
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
        const sentHere = sent.get(repositoryName(item.ref))
        ctx.reporter.image(imageTransferred('pushed', formatRef(item.ref), imageBlobs(manifest as ImageManifest), d => sentHere?.has(d.digest) ?? false))
      }),
    ),
  )
  return {images, blobs}
}
