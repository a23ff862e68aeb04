import {resolve} from 'node:path'
import type {Readable} from 'node:stream'

import {isSlipwayError, SlipwayError} from '../errors.js'
import {type Digest, sha256Digest} from '../oci/digest.js'
import {isIndexMediaType, isManifestMediaType} from '../oci/media-types.js'
import type {AnyManifest, Descriptor, ImageConfig, ImageIndex} from '../oci/types.js'
import {blobStat, openBlob, readBlob, readJsonBlob} from './blob-reader.js'
import {type BlobOpener, type BlobSource, type ExpectedBlob, writeBlob, type WrittenBlob} from './blob-writer.js'
import {collectGarbage, type GcOptions, type GcResult} from './gc.js'
import {ensureLayout, parseIndex, readIndex, refDescriptor, refEntries, type RefEntry, refName, serializeIndex, withoutRefs, withRefs, writeIndex} from './layout.js'
import {Lease} from './leases.js'
import {firstBrokenReference, walkReachable} from './reachability.js'
import {type LockOptions, StoreLock} from './lock.js'
import {StorePaths} from './paths.js'
import {cleanupTempFiles, type TempFile} from './temp-files.js'
import {verifyStore, type VerifyReport} from './verify.js'

export interface OciStoreOptions {
  lock?: LockOptions
}

export interface RefUpdate {
  name: string
  descriptor: Descriptor
  /** Extra annotations for the index entry (the ref name annotation is always set from `name`). */
  annotations?: Record<string, string>
}

/**
 * Slipway's local store: an OCI image layout (`oci:ROOT:NAME` for skopeo and umoci) shared by any number of
 * slipway processes. Blobs are written without a lock (temp file → check → rename); index.json changes and gc
 * run under the store lock.
 */
export class OciStore {
  private readonly lock: StoreLock

  private constructor(readonly paths: StorePaths, options: OciStoreOptions) {
    this.lock = new StoreLock(paths.lockDir, paths.indexFile, options.lock)
  }

  /** Open the layout at `root`, creating it when the directory is missing or empty. */
  static async open(root: string, options: OciStoreOptions = {}): Promise<OciStore> {
    const paths = new StorePaths(resolve(root))
    try {
      await ensureLayout(paths)
    } catch (e) {
      if (isSlipwayError(e)) throw e
      throw new SlipwayError('environment', `cannot open the local store at ${paths.root}: ${(e as Error).message}`, {
        hint: 'set SLIPWAY_HOME to a writable directory',
        cause: e,
      })
    }
    return new OciStore(paths, options)
  }

  get root(): string {
    return this.paths.root
  }

  // ---- blobs ----

  async hasBlob(digest: Digest): Promise<boolean> {
    return (await blobStat(this.paths, digest)) !== undefined
  }

  /** The blob's size in bytes; SlipwayError('not-found') when absent. */
  async blobSize(digest: Digest): Promise<number> {
    const st = await blobStat(this.paths, digest)
    if (!st) throw new SlipwayError('not-found', `blob ${digest} is not in the local store`, {hint: 'pull or build the image again'})
    return st.size
  }

  openBlob(digest: Digest, options?: {verify?: boolean}): Promise<Readable> {
    return openBlob(this.paths, digest, options)
  }

  readBlob(digest: Digest, maxBytes?: number): Promise<Buffer> {
    return readBlob(this.paths, digest, maxBytes)
  }

  /**
   * Store a blob. Pass the lease of the work that will reference it: the blob is then leased before it
   * becomes visible, and no gc can remove it before the reference is recorded (blob-writer.ts).
   */
  writeBlob(source: BlobSource | BlobOpener, expected?: ExpectedBlob, lease?: Lease): Promise<WrittenBlob> {
    return writeBlob(this.paths, source, expected, lease)
  }

  writeBlobBytes(data: Uint8Array | string, expected?: ExpectedBlob, lease?: Lease): Promise<WrittenBlob> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    return writeBlob(this.paths, bytes, {digest: expected?.digest ?? sha256Digest(bytes), size: expected?.size ?? bytes.length}, lease)
  }

  /** Serialize `value` as JSON, store it (leased by `lease`), return its descriptor. */
  async writeJson(value: unknown, mediaType: string, lease?: Lease): Promise<Descriptor> {
    const {digest, size} = await this.writeBlobBytes(JSON.stringify(value), undefined, lease)
    return {mediaType, digest, size}
  }

  async getManifest(digest: Digest): Promise<AnyManifest> {
    const m = await readJsonBlob<AnyManifest>(this.paths, digest, 'manifest')
    const looksValid = !!m && typeof m === 'object' && m.schemaVersion === 2 &&
      (Array.isArray((m as ImageIndex).manifests) || (typeof (m as {config?: unknown}).config === 'object' && Array.isArray((m as {layers?: unknown}).layers)))
    if (!looksValid || (m.mediaType !== undefined && !isManifestMediaType(m.mediaType) && !isIndexMediaType(m.mediaType))) {
      throw new SlipwayError('integrity', `blob ${digest} in the local store is not an image manifest or index`)
    }
    return m
  }

  async getConfig(digest: Digest): Promise<ImageConfig> {
    const c = await readJsonBlob<ImageConfig>(this.paths, digest, 'image config')
    if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids)) {
      throw new SlipwayError('integrity', `blob ${digest} in the local store is not an image config (no rootfs.diff_ids)`)
    }
    return c
  }

  /** Protect digests this process works with from gc until it releases the lease or exits. */
  lease(): Promise<Lease> {
    return Lease.create(this.paths)
  }

  // ---- index.json ----

  readIndex(): Promise<ImageIndex> {
    return readIndex(this.paths)
  }

  /**
   * Read-modify-write index.json under the store lock. `fn` returns the new index (or undefined to leave it
   * unchanged) and must not take long: other processes wait for it. Resolves to the index as it now is.
   * Calling updateIndex or gc from inside `fn` deadlocks.
   * Every blob a new entry reaches must be in the store with its size (checked under the lock, so no gc can
   * remove it before the entry is written): a dangling name is refused with SlipwayError('conflict').
   */
  async updateIndex(fn: (index: ImageIndex) => ImageIndex | undefined | Promise<ImageIndex | undefined>): Promise<ImageIndex> {
    return this.lock.run(async handle => {
      const current = await readIndex(this.paths)
      const before = serializeIndex(current)
      const next = await fn(current)
      if (next === undefined) return parseIndex(before, this.paths.indexFile)
      const text = serializeIndex(next)
      if (text === before) return next
      parseIndex(text, 'the updated index') // never write an index other tools cannot read
      await checkNewEntries(this.paths, current, next)
      handle.assertHeld()
      await writeIndex(this.paths, next)
      return next
    })
  }

  /** Name an image; an earlier entry with this name is replaced. */
  async setRef(name: string, descriptor: Descriptor, annotations?: Record<string, string>): Promise<void> {
    await this.setRefs([{name, descriptor, annotations}])
  }

  /** Several names in one index update: all or none are visible. */
  async setRefs(updates: RefUpdate[]): Promise<void> {
    const entries = updates.map(u => refDescriptor(u.name, u.descriptor, u.annotations))
    await this.updateIndex(index => withRefs(index, entries))
  }

  /** Remove names (a list, or those a predicate picks); returns the removed entries. */
  async removeRefs(which: string[] | ((entry: RefEntry) => boolean)): Promise<RefEntry[]> {
    const names = Array.isArray(which) ? new Set(which) : undefined
    const pick = names ? (e: RefEntry) => names.has(e.name) : (which as (entry: RefEntry) => boolean)
    let removed: RefEntry[] = []
    await this.updateIndex(index => {
      const out = withoutRefs(index, pick)
      removed = out.removed
      return out.removed.length > 0 ? out.index : undefined
    })
    return removed
  }

  async listRefs(): Promise<RefEntry[]> {
    return refEntries(await readIndex(this.paths))
  }

  /** The descriptor named `name`, or undefined. */
  async resolveRef(name: string): Promise<Descriptor | undefined> {
    return (await this.listRefs()).find(e => e.name === name)?.descriptor
  }

  // ---- maintenance ----

  /** Remove blobs index.json and live leases do not reach (and old leftovers in tmp/), under the store lock. */
  gc(options?: GcOptions): Promise<GcResult> {
    return this.lock.run(() => collectGarbage(this.paths, options))
  }

  verify(): Promise<VerifyReport> {
    return verifyStore(this.paths)
  }

  /** Remove temp files of writers that are gone, once `olderThanMs` old. */
  cleanupTemp(options: {olderThanMs: number; dryRun?: boolean}): Promise<TempFile[]> {
    return cleanupTempFiles(this.paths, options)
  }
}

/**
 * Entries of `next` that `current` does not have must reach only blobs that are in the store. Entries already
 * in the index were checked when they were added, and gc keeps what the index reaches.
 */
async function checkNewEntries(paths: StorePaths, current: ImageIndex, next: ImageIndex): Promise<void> {
  const known = new Set(current.manifests.map(d => d.digest))
  const added = next.manifests.filter(d => !known.has(d.digest))
  if (added.length === 0) return
  const roots = added.map(descriptor => ({descriptor, referencedBy: `image ${refName(descriptor) ?? descriptor.digest}`}))
  const broken = await firstBrokenReference(paths, await walkReachable(paths, roots))
  if (!broken) return
  const {descriptor, referencedBy} = broken.reference
  const names = added.map(d => refName(d) ?? d.digest)
  const list = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')
  const what = broken.size === undefined ? 'is not in the local store' : `is ${broken.size} bytes, not ${descriptor.size}`
  throw new SlipwayError(broken.size === undefined ? 'conflict' : 'integrity', `not recording ${list}: blob ${descriptor.digest} (referenced by ${referencedBy}) ${what}`, {
    hint: broken.size === undefined ? 'another slipway process removed it meanwhile (gc or cleanup); run the command again' : 'run `slipway store verify`, then build or pull the image again',
  })
}
