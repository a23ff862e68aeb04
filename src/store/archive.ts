/**
 * The stages cache as one file, for hosts that share no registry: an OCI image layout in a tar
 * (`skopeo copy oci-archive:images.tar:NAME …` reads it). Both directions stream blob by blob.
 *
 * Entry order of what we write: `oci-layout`, the `blobs/` directories, every blob once (sorted by digest),
 * `index.json` last — so an importer reading it as a stream has checked every blob before it learns a name.
 * Import does not rely on that order: names are set in one index update only after the whole archive was
 * read and everything the archive's index.json reaches is in the store.
 */
import {basename} from 'node:path'

import {
  archiveError, archivePath, type ArchiveOptions, type ArchiveSource, type ArchiveTarget, drainEntry, openTar,
  readSmallEntry, type TarEntry, type TarReader, TarWriter,
} from '../archive/index.js'
import {isSlipwayError, SlipwayError} from '../errors.js'
import {type Digest, Digester, digestAlgorithm, isDigest} from '../oci/digest.js'
import {isIndexMediaType, isManifestMediaType, MediaType} from '../oci/media-types.js'
import type {Descriptor, ImageIndex} from '../oci/types.js'
import {blobStat, DEFAULT_MAX_READ_BYTES} from './blob-reader.js'
import {checkRefName, OCI_LAYOUT_VERSION, parseIndex, REF_NAME_ANNOTATION, type RefEntry} from './layout.js'
import type {Lease} from './leases.js'
import type {OciStore} from './oci-store.js'
import {firstBrokenReference, indexRoots, walkReachable} from './reachability.js'

export interface ExportResult {
  /** Images (names) in the archive. */
  images: number
  /** Distinct blobs in the archive. */
  blobs: number
  /** Size of the archive in bytes. */
  bytes: number
}

export interface ImportOptions extends ArchiveOptions {
  /** How the archive is named in messages; default: the file's base name, or "the archive" for a stream. */
  label?: string
}

export interface ImportResult {
  /** Names set in the store, in the archive's index order. */
  images: string[]
  blobsWritten: number
  /** Blobs the store already had (their bytes in the archive were still checked). */
  blobsSkipped: number
  /** Archive bytes read. */
  bytes: number
}

const LAYOUT_FILE_MAX_BYTES = 64 * 1024
const ARCHIVE_HINT = 'the archive was damaged or cut short on the way; export it again and copy it whole. No image names in the local store were changed'

/**
 * Write the images named `refNames` (local store names, e.g. `dimgstage-proj:<signature>`) and everything
 * they reach as an OCI image layout tar to `out` (a path: written beside it and renamed into place when
 * complete; or a stream, ended when done). Blobs stream from the store and are checked against their digests
 * on the way; an image with a missing or damaged blob fails the export.
 */
export async function exportArchive(store: OciStore, refNames: string[], out: ArchiveTarget, options: ArchiveOptions = {}): Promise<ExportResult> {
  const chosen = pickRefs(await store.listRefs(), refNames)
  const lease = await store.lease() // keep what we read safe from a concurrent gc after an untag
  try {
    await lease.add(...chosen.map(r => r.descriptor.digest))
    const blobs = await blobsToExport(store, chosen)
    const totalBytes = blobs.reduce((n, b) => n + b.size, 0)
    const writer = await TarWriter.create(out)
    let done = 0
    try {
      const layoutBytes = Buffer.from(JSON.stringify({imageLayoutVersion: OCI_LAYOUT_VERSION}))
      await writer.addFile('oci-layout', layoutBytes.length, layoutBytes)
      await writer.addDirectory('blobs')
      for (const algorithm of [...new Set(blobs.map(b => digestAlgorithm(b.digest)))].sort()) await writer.addDirectory(`blobs/${algorithm}`)
      for (const {digest, size} of blobs) {
        const content = await store.openBlob(digest)
        await writer.addFile(blobPath(digest), size, content, {
          onChunk: n => {
            done += n
            options.onProgress?.({bytes: done, totalBytes})
          },
        })
      }
      const index: ImageIndex = {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: chosen.map(r => r.descriptor)}
      const indexBytes = Buffer.from(JSON.stringify(index))
      await writer.addFile('index.json', indexBytes.length, indexBytes)
      return {images: chosen.length, blobs: blobs.length, bytes: await writer.finish()}
    } catch (e) {
      await writer.abort(e as Error)
      throw writeError(e, out)
    }
  } finally {
    await lease.release()
  }
}

/** The store's index entries for `names`, in that order, each once; an unknown name is an error. */
function pickRefs(refs: RefEntry[], names: string[]): RefEntry[] {
  const byName = new Map(refs.map(r => [r.name, r]))
  const out: RefEntry[] = []
  for (const name of new Set(names)) {
    const ref = byName.get(name)
    if (!ref) throw new SlipwayError('not-found', `no image named ${name} in the local store`, {hint: 'build or pull it first, or leave it out'})
    out.push(ref)
  }
  return out
}

/** Every blob the chosen images reach, each once, sorted by digest; all must be present with the size referenced. */
async function blobsToExport(store: OciStore, chosen: RefEntry[]): Promise<{digest: Digest; size: number}[]> {
  const reachable = await walkReachable(store.paths, chosen.map(r => ({descriptor: r.descriptor, referencedBy: r.name})))
  const first = reachable.unreadable[0]
  if (first) {
    throw new SlipwayError('integrity', `manifest ${first.digest} in the local store cannot be read: ${first.reason}`, {hint: 'run `slipway dimg cleanup`, then build or pull the image again'})
  }
  const sizes = new Map<Digest, number>()
  for (const {descriptor: {digest, size}, referencedBy} of reachable.references) {
    if (sizes.has(digest)) continue
    const st = await blobStat(store.paths, digest)
    if (!st) {
      throw new SlipwayError('not-found', `blob ${digest} (referenced by ${referencedBy}) is not in the local store`, {hint: 'pull or build that image again before exporting it'})
    }
    if (st.size !== size) {
      throw new SlipwayError('integrity', `blob ${digest} in the local store is ${st.size} bytes, ${referencedBy} says ${size}`, {hint: 'run `slipway dimg cleanup`, then build or pull the image again'})
    }
    sizes.set(digest, size)
  }
  return [...sizes].map(([digest, size]) => ({digest, size})).sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
}

/** A failure to write the archive (not a store problem) in one line. */
function writeError(e: unknown, out: ArchiveTarget): unknown {
  const err = e as NodeJS.ErrnoException
  if (isSlipwayError(e) || typeof err?.code !== 'string' || !err.code.startsWith('E')) return e
  const where = typeof out === 'string' ? out : 'the output'
  return new SlipwayError('environment', `cannot write the archive to ${where}: ${err.message}`, {hint: 'check that the directory exists, is writable and has free space', cause: e})
}

function blobPath(digest: Digest): string {
  return `blobs/${digest.replace(':', '/')}`
}

/**
 * Load an OCI image layout tar into the store. Every blob's bytes are checked against its digest (also for
 * blobs the store already has, which are not written again); names from the archive's index.json are set in
 * one index update at the end, once everything they reach is in the store. A truncated, tampered or hostile
 * archive fails with SlipwayError('integrity') and no name changes; blobs it already wrote stay unreferenced
 * until gc. Running it again after a kill skips what the killed run stored.
 */
export async function importArchive(store: OciStore, source: ArchiveSource, options: ImportOptions = {}): Promise<ImportResult> {
  const label = options.label ?? (typeof source === 'string' ? basename(source) : 'the archive')
  const lease = await store.lease()
  let reader: TarReader | undefined
  try {
    reader = await openTar(source, label, options.onProgress)
    const found = await readArchive(store, reader, lease, label)
    const names = await checkComplete(store, found.index)
    await store.setRefs(found.index.manifests.map((descriptor, i) => ({name: names[i]!, descriptor})))
    return {images: names, blobsWritten: found.written, blobsSkipped: found.skipped, bytes: reader.bytesRead()}
  } catch (e) {
    reader?.close()
    throw archiveError(e, label, reader, {hint: ARCHIVE_HINT, doing: 'import'})
  } finally {
    await lease.release()
  }
}

async function readArchive(store: OciStore, reader: TarReader, lease: Lease, label: string): Promise<{index: ImageIndex; written: number; skipped: number}> {
  let layoutSeen = false
  let index: ImageIndex | undefined
  let written = 0
  let skipped = 0
  for await (const entry of reader.entries) {
    const name = entry.header.name
    const path = archivePath(name, label)
    const type = entry.header.type ?? 'file'
    if (type === 'directory') {
      if (path !== '' && path !== 'blobs' && !/^blobs\/[a-z0-9]+$/.test(path)) throw unexpectedEntry(name)
      await drainEntry(entry)
      continue
    }
    if (type !== 'file' && type !== 'contiguous-file') {
      throw new SlipwayError('integrity', `entry "${name.slice(0, 200)}" is a ${type}; an image archive holds only files and directories`)
    }
    if (path === 'oci-layout') {
      if (layoutSeen) throw new SlipwayError('integrity', 'it holds oci-layout twice')
      checkLayoutFile(await readSmallEntry(entry, LAYOUT_FILE_MAX_BYTES, 'its oci-layout'))
      layoutSeen = true
    } else if (path === 'index.json') {
      if (index) throw new SlipwayError('integrity', 'it holds index.json twice')
      index = parseArchiveIndex(await readSmallEntry(entry, DEFAULT_MAX_READ_BYTES, 'its index.json'))
    } else {
      const digest = blobDigest(path)
      if (!digest) throw unexpectedEntry(name)
      if (await storeBlob(store, entry, digest, lease)) written++
      else skipped++
    }
  }
  if (!layoutSeen) throw new SlipwayError('integrity', 'it has no oci-layout entry (not an OCI image layout, or cut short)')
  if (!index) throw new SlipwayError('integrity', 'it has no index.json (cut short, or not an OCI image layout)')
  return {index, written, skipped}
}

function unexpectedEntry(name: string): SlipwayError {
  return new SlipwayError('integrity', `unexpected entry "${name.slice(0, 200)}" (an image archive holds oci-layout, index.json and blobs/<algorithm>/<digest>)`)
}

/** `blobs/sha256/<hex>` → its digest; anything else → undefined. */
function blobDigest(path: string): Digest | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path)
  const digest = m ? `${m[1]}:${m[2]}` : ''
  return isDigest(digest) ? digest : undefined
}

/** Write the entry as blob `digest` (checked); when the store has it, hash the entry's bytes anyway. Returns whether it was written. */
async function storeBlob(store: OciStore, entry: TarEntry, digest: Digest, lease: Lease): Promise<boolean> {
  const size = entry.header.size ?? 0
  let opened = false
  // leased before it lands or is taken as present: a gc running meanwhile keeps it, however old it is
  await store.writeBlob(() => {
    opened = true
    return entry.content
  }, {digest, size}, lease)
  if (opened) return true
  const digester = new Digester(digestAlgorithm(digest))
  await drainEntry(entry, chunk => digester.update(chunk))
  const got = digester.digest()
  if (got !== digest) throw new SlipwayError('integrity', `blob ${digest} in it hashes to ${got}`)
  return false
}

function checkLayoutFile(data: Buffer): void {
  let version: unknown
  try {
    version = (JSON.parse(data.toString('utf8')) as {imageLayoutVersion?: unknown}).imageLayoutVersion
  } catch {
    version = undefined
  }
  if (version !== OCI_LAYOUT_VERSION) throw new SlipwayError('integrity', `its oci-layout is not an OCI image layout version ${OCI_LAYOUT_VERSION} file`)
}

/** The archive's index.json: an OCI index whose every entry is a named manifest or index. */
function parseArchiveIndex(data: Buffer): ImageIndex {
  const index = parseIndex(data.toString('utf8'), 'its index.json')
  for (const d of index.manifests) {
    const name = d.annotations?.[REF_NAME_ANNOTATION]
    if (typeof name !== 'string') {
      throw new SlipwayError('integrity', `its index.json has an entry without a name (${REF_NAME_ANNOTATION}): ${d.digest}`)
    }
    try {
      checkRefName(name)
    } catch {
      throw new SlipwayError('integrity', `its index.json names an image "${name.slice(0, 140)}", which is not a valid name`)
    }
    if (!isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType)) {
      throw new SlipwayError('integrity', `its index.json entry ${name} has media type ${d.mediaType}, not an image manifest or index`)
    }
  }
  return index
}

/** Everything the archive's index reaches must now be in the store with the referenced size; returns the names. */
async function checkComplete(store: OciStore, index: ImageIndex): Promise<string[]> {
  const reachable = await walkReachable(store.paths, indexRoots(index))
  const first = reachable.unreadable[0]
  if (first) throw new SlipwayError('integrity', `manifest ${first.digest} in it cannot be read: ${first.reason}`)
  const broken = await firstBrokenReference(store.paths, reachable)
  if (broken) {
    const {descriptor, referencedBy} = broken.reference
    const what = referencedBy === 'index.json' ? `image ${nameOf(descriptor)}` : referencedBy
    if (broken.size === undefined) throw new SlipwayError('integrity', `blob ${descriptor.digest}, which ${what} references, is neither in it nor in the local store`)
    throw new SlipwayError('integrity', `blob ${descriptor.digest} is ${broken.size} bytes, ${what} says ${descriptor.size}`)
  }
  return index.manifests.map(nameOf)
}

function nameOf(d: Descriptor): string {
  return d.annotations![REF_NAME_ANNOTATION]!
}
