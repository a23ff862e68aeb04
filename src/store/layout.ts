import {mkdir, readFile, readdir} from 'node:fs/promises'

import {SlipwayError} from '../errors.js'
import {createFileOnce, isErrno, writeFileAtomic} from '../fs-atomic.js'
import {isDigest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import type {Descriptor, ImageIndex} from '../oci/types.js'
import type {StorePaths} from './paths.js'

export const OCI_LAYOUT_VERSION = '1.0.0'
/** The annotation that names an image in an OCI layout's index.json (`oci:STORE:NAME`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'

/** Entries a directory may hold before it is a finished layout: a layout being created by another process. */
const LAYOUT_ENTRIES = new Set(['oci-layout', 'index.json', 'blobs', 'tmp', 'leases', '.slipway.lock'])

export function emptyIndex(): ImageIndex {
  return {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
}

/**
 * Make `paths.root` an OCI layout if it is empty or a half-created one; accept an existing layout.
 * Safe when several processes do it at once: files are created by linking complete temp files, never overwritten.
 */
export async function ensureLayout(paths: StorePaths): Promise<void> {
  await mkdir(paths.root, {recursive: true})
  const layoutText = await readFile(paths.layoutFile, 'utf8').catch(e => {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  })
  if (layoutText === undefined) {
    const foreign = (await readdir(paths.root)).filter(name => !LAYOUT_ENTRIES.has(name))
    if (foreign.length > 0) {
      throw new SlipwayError('usage', `${paths.root} is not an OCI image layout (no oci-layout file) and is not empty`, {
        hint: 'point SLIPWAY_HOME at another directory, or empty this one',
      })
    }
  } else {
    checkLayoutFile(paths, layoutText)
  }
  await mkdir(paths.algorithmDir('sha256'), {recursive: true})
  await mkdir(paths.tmpDir, {recursive: true})
  await mkdir(paths.leasesDir, {recursive: true})
  await createFileOnce(paths.indexFile, serializeIndex(emptyIndex()), paths.tmpDir)
  if (layoutText === undefined) {
    await createFileOnce(paths.layoutFile, JSON.stringify({imageLayoutVersion: OCI_LAYOUT_VERSION}), paths.tmpDir)
  }
}

function checkLayoutFile(paths: StorePaths, text: string): void {
  let version: unknown
  try {
    version = (JSON.parse(text) as {imageLayoutVersion?: unknown}).imageLayoutVersion
  } catch {
    version = undefined
  }
  if (version !== OCI_LAYOUT_VERSION) {
    throw new SlipwayError('integrity', `${paths.layoutFile} is not an OCI image layout version ${OCI_LAYOUT_VERSION} file`, {
      hint: 'the directory holds something else; point SLIPWAY_HOME at another directory',
    })
  }
}

export function serializeIndex(index: ImageIndex): string {
  return JSON.stringify(index)
}

/** Parse and check index.json text; throws SlipwayError('integrity') when it is not an OCI index. */
export function parseIndex(text: string, where: string): ImageIndex {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new SlipwayError('integrity', `${where} is not valid JSON: ${(e as Error).message}`, {
      hint: 'the store is damaged; run `slipway dimg cleanup` or remove the store',
    })
  }
  const index = value as Partial<ImageIndex> | null
  if (!index || typeof index !== 'object' || index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
    throw new SlipwayError('integrity', `${where} is not an OCI image index (schemaVersion 2 with a manifests list)`)
  }
  for (const d of index.manifests) {
    if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isDigest(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0) {
      throw new SlipwayError('integrity', `${where} has an entry that is not a valid descriptor: ${JSON.stringify(d).slice(0, 200)}`)
    }
  }
  return index as ImageIndex
}

export async function readIndex(paths: StorePaths): Promise<ImageIndex> {
  let text: string
  try {
    text = await readFile(paths.indexFile, 'utf8')
  } catch (e) {
    if (isErrno(e, 'ENOENT')) {
      throw new SlipwayError('integrity', `${paths.indexFile} is missing`, {hint: 'the store is damaged; remove it and pull again'})
    }
    throw e
  }
  return parseIndex(text, paths.indexFile)
}

export async function writeIndex(paths: StorePaths, index: ImageIndex): Promise<void> {
  await writeFileAtomic(paths.indexFile, serializeIndex(index), paths.tmpDir)
}

// ---- ref names: pure operations on an index ----

export interface RefEntry {
  name: string
  descriptor: Descriptor
}

export function refName(d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME_ANNOTATION]
}

export function checkRefName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || /[\s]/.test(name)) {
    throw new SlipwayError('usage', `invalid image name "${String(name).slice(0, 140)}" for the local store`, {
      hint: 'names are non-empty and contain no whitespace',
    })
  }
}

/** The index entry for `name`: the descriptor with the caller's annotations and the ref name on top. */
export function refDescriptor(name: string, descriptor: Descriptor, annotations?: Record<string, string>): Descriptor {
  checkRefName(name)
  return {
    ...descriptor,
    annotations: {...descriptor.annotations, ...annotations, [REF_NAME_ANNOTATION]: name},
  }
}

/** Set each entry's name, replacing earlier entries with that name in place (new names go at the end). */
export function withRefs(index: ImageIndex, entries: Descriptor[]): ImageIndex {
  const manifests = [...index.manifests]
  for (const entry of entries) {
    const name = refName(entry)
    const first = manifests.findIndex(d => refName(d) === name)
    if (first === -1) {
      manifests.push(entry)
      continue
    }
    manifests[first] = entry
    for (let i = manifests.length - 1; i > first; i--) if (refName(manifests[i]) === name) manifests.splice(i, 1)
  }
  return {...index, manifests}
}

export function withoutRefs(index: ImageIndex, remove: (entry: RefEntry) => boolean): {index: ImageIndex; removed: RefEntry[]} {
  const removed: RefEntry[] = []
  const manifests = index.manifests.filter(descriptor => {
    const name = refName(descriptor)
    if (name === undefined || !remove({name, descriptor})) return true
    removed.push({name, descriptor})
    return false
  })
  return {index: {...index, manifests}, removed}
}

export function refEntries(index: ImageIndex): RefEntry[] {
  const out: RefEntry[] = []
  for (const descriptor of index.manifests) {
    const name = refName(descriptor)
    if (name !== undefined) out.push({name, descriptor})
  }
  return out
}
