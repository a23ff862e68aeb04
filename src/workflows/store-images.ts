import {SlipwayError} from '../errors.js'
import type {Ref} from '../oci/ref.js'
import {isImageIndex} from '../oci/types.js'
import type {GcResult, VerifyReport} from '../store/index.js'
import type {WorkflowContext} from './context.js'
import {removeStaleKeptRoots} from '../roots/kept-roots-gc.js'
import {imageBlobs, pullImages, type PullResult, pushImages, type PushResult} from '../transfer/index.js'

export type {PullResult, PushResult, VerifyReport}

/** `store gc`: what the store's gc removed, and the stale kept roots. */
export type StoreGcResult = GcResult & {keptRoots: string[]}

export interface StoredImage {
  name: string
  digest: string
  mediaType: string
  /** Of the manifest. */
  size: number
  /** Of the image: its config and layers (as `docker images` and crane count it); undefined for an index. */
  imageSize?: number
  annotations: Record<string, string>
}

export async function listStoredImages(ctx: WorkflowContext): Promise<StoredImage[]> {
  const store = await ctx.store()
  const refs = await store.listRefs()
  const images = await Promise.all(
    refs.map(async r => {
      const manifest = await store.getManifest(r.descriptor.digest).catch(() => undefined)
      const imageSize = manifest && !isImageIndex(manifest) ? imageBlobs(manifest).reduce((n, d) => n + d.size, 0) : undefined
      return {
        name: r.name,
        digest: r.descriptor.digest,
        mediaType: r.descriptor.mediaType,
        size: r.descriptor.size,
        ...(imageSize === undefined ? {} : {imageSize}),
        annotations: r.descriptor.annotations ?? {},
      }
    }),
  )
  return images.sort((a, b) => a.name.localeCompare(b.name))
}

export async function pushStoredImage(ctx: WorkflowContext, name: string, ref: Ref): Promise<PushResult> {
  const store = await ctx.store()
  const manifest = await store.resolveRef(name)
  if (!manifest) {
    throw new SlipwayError('not-found', `no image named "${name}" in the local store`, {hint: 'see `slipway image list`'})
  }
  return pushImages(ctx, [{manifest, ref}])
}

export async function pullImageToStore(ctx: WorkflowContext, ref: Ref, name: string): Promise<PullResult> {
  return pullImages(ctx, [{ref, name}])
}

export async function verifyStore(ctx: WorkflowContext): Promise<VerifyReport> {
  return (await ctx.store()).verify()
}

/** `store gc`: the store's unreferenced blobs, and the kept stage roots no image in it stands on. */
export async function collectStoreGarbage(ctx: WorkflowContext, opts: {dryRun?: boolean; minAgeMinutes?: number}): Promise<StoreGcResult> {
  const store = await ctx.store()
  const ageMs = (opts.minAgeMinutes ?? 60) * 60_000
  const gc = await store.gc({dryRun: opts.dryRun, blobMinAgeMs: ageMs, tempMaxAgeMs: ageMs})
  return {...gc, keptRoots: await removeStaleKeptRoots(ctx.home, store, opts)}
}
