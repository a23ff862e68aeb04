import {type Digest, isDigest} from '../oci/digest.js'
import {isIndexMediaType, isManifestMediaType, MediaType} from '../oci/media-types.js'
import type {Descriptor, ImageIndex, ImageManifest} from '../oci/types.js'
import {blobStat, DEFAULT_MAX_READ_BYTES, readBlob} from './blob-reader.js'
import type {StorePaths} from './paths.js'

/** A descriptor found while walking, and what referenced it (`index.json` or a manifest digest). */
export interface Reference {
  descriptor: Descriptor
  referencedBy: string
}

export interface Reachable {
  /** Every digest reachable from the roots. */
  digests: Set<Digest>
  /** Every reference seen, for size checks and missing-blob reports. */
  references: Reference[]
  /** Manifests that were present but could not be read as JSON manifests. */
  unreadable: {digest: Digest; reason: string}[]
}

const CONFIG_MEDIA_TYPES = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig, MediaType.OciEmpty])

/**
 * Mark everything reachable from `roots`: a manifest reaches its config, layers and subject, an index its
 * manifests, recursively. Blobs whose media type is not a known manifest type are parsed anyway when small,
 * so artifacts and unknown manifest types still protect their children. Absent blobs are skipped.
 */
export async function walkReachable(paths: StorePaths, roots: Reference[]): Promise<Reachable> {
  const out: Reachable = {digests: new Set(), references: [], unreadable: []}
  const queue = [...roots]
  while (queue.length > 0) {
    const ref = queue.shift()!
    out.references.push(ref)
    const {digest, mediaType, size} = ref.descriptor
    if (out.digests.has(digest)) continue
    out.digests.add(digest)
    const known = isManifestMediaType(mediaType) || isIndexMediaType(mediaType)
    if (!known && !mayHaveChildren(mediaType, size)) continue
    let doc: unknown
    try {
      doc = JSON.parse((await readBlob(paths, digest)).toString('utf8'))
    } catch (e) {
      if ((e as {kind?: string}).kind === 'not-found') continue
      if (known) out.unreadable.push({digest, reason: (e as Error).message})
      continue
    }
    for (const child of children(doc)) queue.push({descriptor: child, referencedBy: digest})
  }
  return out
}

/** Artifact manifests come with other media types; any small JSON blob that is not an image config may have children. */
function mayHaveChildren(mediaType: string | undefined, size: number): boolean {
  return !!mediaType && mediaType.endsWith('+json') && !CONFIG_MEDIA_TYPES.has(mediaType) && size <= DEFAULT_MAX_READ_BYTES
}

function children(doc: unknown): Descriptor[] {
  if (!doc || typeof doc !== 'object') return []
  const m = doc as Partial<ImageManifest> & Partial<ImageIndex>
  const found: unknown[] = []
  if (Array.isArray(m.manifests)) found.push(...m.manifests)
  if (m.config) found.push(m.config)
  if (Array.isArray(m.layers)) found.push(...m.layers)
  if (m.subject) found.push(m.subject)
  return found.filter(isDescriptor)
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Partial<Descriptor> | null
  return !!x && typeof x === 'object' && typeof x.digest === 'string' && isDigest(x.digest) && Number.isSafeInteger(x.size)
}

export function indexRoots(index: ImageIndex): Reference[] {
  return index.manifests.map(descriptor => ({descriptor, referencedBy: 'index.json'}))
}

/**
 * A lease records digests only; its media type is unknown, so the walk is told to try the blob as JSON:
 * a leased manifest then protects its children too.
 */
export function leasedDescriptor(digest: Digest): Descriptor {
  return {mediaType: 'application/vnd.slipway.leased+json', digest, size: 0}
}

/** A reference whose blob is absent (`size` undefined) or holds another number of bytes than referenced. */
export interface BrokenReference {
  reference: Reference
  size: number | undefined
}

/** The first blob a walk reached that is missing or has the wrong size; undefined when everything is there. */
export async function firstBrokenReference(paths: StorePaths, reachable: Reachable): Promise<BrokenReference | undefined> {
  const checked = new Set<Digest>()
  for (const reference of reachable.references) {
    const {digest, size} = reference.descriptor
    if (checked.has(digest)) continue
    checked.add(digest)
    const st = await blobStat(paths, digest)
    if (!st || st.size !== size) return {reference, size: st?.size}
  }
  return undefined
}
