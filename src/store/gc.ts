import {rename, stat, unlink} from 'node:fs/promises'
import {join} from 'node:path'

import {isErrno, tempName} from '../fs-atomic.js'
import {type Digest, isDigest} from '../oci/digest.js'
import {listBlobFiles} from './blob-reader.js'
import {readIndex} from './layout.js'
import {liveLeasedDigests} from './leases.js'
import type {StorePaths} from './paths.js'
import {indexRoots, leasedDescriptor, walkReachable} from './reachability.js'
import {cleanupTempFiles} from './temp-files.js'

export const DEFAULT_GC_MIN_AGE_MS = 60 * 60_000

export interface GcOptions {
  /** Unreferenced blobs modified less than this long ago are kept: a running process may be about to reference them. Default 60 min. */
  blobMinAgeMs?: number
  /** Temp files of writers that are gone are removed once this old. Default 60 min; 0 when no writer can be running. */
  tempMaxAgeMs?: number
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean
}

export interface GcResult {
  removedBlobs: Digest[]
  freedBytes: number
  /** Names of removed files in the store's tmp/ directory. */
  removedTemp: string[]
}

/**
 * Mark what index.json and live leases reach, sweep the other blobs that are old enough. Must run under the
 * store lock, so that no index update adds a reference to a blob while it is being swept.
 *
 * Writers take no lock; they lease a blob before it appears in blobs/ and before they take an existing copy
 * as present (blob-writer.ts). So the blobs are listed first and the leases read afterwards: a blob listed
 * here was leased (if at all) before this reads the leases, or the lease came later and the blob was already
 * there, which the re-check in sweepBlob catches.
 */
export async function collectGarbage(paths: StorePaths, options: GcOptions = {}): Promise<GcResult> {
  const minAge = options.blobMinAgeMs ?? DEFAULT_GC_MIN_AGE_MS
  const candidates = await listBlobFiles(paths)
  const index = await readIndex(paths)
  const leased = await liveLeasedDigests(paths, options.dryRun)
  const roots = indexRoots(index)
  for (const digest of leased) roots.push({descriptor: leasedDescriptor(digest), referencedBy: 'lease'})
  const reachable = await walkReachable(paths, roots)

  const result: GcResult = {removedBlobs: [], freedBytes: 0, removedTemp: []}
  for (const [algorithm, hex] of candidates) {
    const digest = `${algorithm}:${hex}`
    if (!isDigest(digest) || reachable.digests.has(digest)) continue
    const file = join(paths.algorithmDir(algorithm), hex)
    const freed = await sweepBlob(paths, digest, file, minAge, options.dryRun ?? false)
    if (freed === undefined) continue
    result.removedBlobs.push(digest)
    result.freedBytes += freed
  }
  const temps = await cleanupTempFiles(paths, {olderThanMs: options.tempMaxAgeMs ?? DEFAULT_GC_MIN_AGE_MS, dryRun: options.dryRun})
  result.removedTemp = temps.map(t => t.name)
  return result
}

/**
 * Remove one unreferenced blob if it is old enough; returns its size, or undefined when kept.
 * A writer may lease a blob that is already present after the leases were read, then take it as present
 * (blob-writer.ts touchExisting, a pull's "present" check). So the blob is first moved aside, and put back if
 * it was leased (or touched) meanwhile: a writer that checks before the move leased it before the move, so the
 * re-read below sees its lease; a writer that checks after the move finds nothing and writes the blob anew.
 * A leased manifest protects its children through the walk, not here: those were leased by the same writer
 * before the manifest (children are written first), so they are protected as well.
 */
async function sweepBlob(paths: StorePaths, digest: Digest, file: string, minAgeMs: number, dryRun: boolean): Promise<number | undefined> {
  const young = (mtimeMs: number): boolean => Date.now() - mtimeMs < minAgeMs
  let st
  try {
    st = await stat(file)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
  if (!st.isFile() || young(st.mtimeMs)) return undefined
  if (dryRun) return st.size
  const aside = join(paths.tmpDir, tempName('gc'))
  try {
    await rename(file, aside)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
  const again = await stat(aside)
  if (young(again.mtimeMs) || (await liveLeasedDigests(paths, true)).has(digest)) {
    await rename(aside, file)
    return undefined
  }
  await unlink(aside)
  return again.size
}
