import pLimit from 'p-limit'

import type {Digest} from '../oci/digest.js'
import type {Descriptor} from '../oci/types.js'
import type {ImageTransferred} from './context.js'

/**
 * What happened to one blob: `uploaded` from the local store, `copied` from another repository of the
 * registry, streamed through this host (a mount the registry refused), `mounted` from another repository,
 * `exists` already in the target, `pulled` into the local store, `present` already there.
 */
export type BlobOutcome = 'uploaded' | 'copied' | 'exists' | 'mounted' | 'pulled' | 'present'

export interface TransferredBlob {
  digest: Digest
  size: number
  outcome: BlobOutcome
}

/** Counts and bytes of blob transfers: the shape every push, pull and bp result carries. */
export interface BlobTotals {
  uploaded: number
  copied: number
  mounted: number
  exists: number
  pulled: number
  present: number
  /** Blob bytes sent to registries (uploads and copies). */
  bytesUploaded: number
  /** Blob bytes read from registries (pulls and copies). */
  bytesDownloaded: number
}

export function emptyTotals(): BlobTotals {
  return {uploaded: 0, copied: 0, mounted: 0, exists: 0, pulled: 0, present: 0, bytesUploaded: 0, bytesDownloaded: 0}
}

export function addBlob(totals: BlobTotals, b: TransferredBlob): BlobTotals {
  totals[b.outcome]++
  if (b.outcome === 'uploaded' || b.outcome === 'copied') totals.bytesUploaded += b.size
  if (b.outcome === 'pulled' || b.outcome === 'copied') totals.bytesDownloaded += b.size
  return totals
}

export function sumTotals(all: BlobTotals[]): BlobTotals {
  const out = emptyTotals()
  for (const t of all) for (const k of Object.keys(out) as (keyof BlobTotals)[]) out[k] += t[k]
  return out
}

export function totalsOf(blobs: TransferredBlob[]): BlobTotals {
  return blobs.reduce(addBlob, emptyTotals())
}

/** An image's one log event: its blobs, their bytes, and the bytes of those this run moved (`moved`). */
export function imageTransferred(verb: ImageTransferred['verb'], ref: string, blobs: Descriptor[], moved: (d: Descriptor) => boolean): ImageTransferred {
  const distinct = [...new Map(blobs.map(d => [d.digest, d])).values()]
  const sum = (ds: Descriptor[]) => ds.reduce((n, d) => n + d.size, 0)
  return {verb, ref, blobs: distinct.length, bytes: sum(distinct), movedBytes: sum(distinct.filter(moved))}
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
