import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {join} from 'node:path'

import {isSlipwayError} from '../errors.js'
import {isErrno} from '../fs-atomic.js'
import {type Digest, Digester, isDigest} from '../oci/digest.js'
import {listBlobFiles, READ_CHUNK_BYTES} from './blob-reader.js'
import {readIndex} from './layout.js'
import type {StorePaths} from './paths.js'
import {indexRoots, walkReachable} from './reachability.js'
import {listTempFiles, type TempFile} from './temp-files.js'

export interface CorruptBlob {
  digest: Digest
  reason: 'digest-mismatch' | 'size-mismatch' | 'unreadable-manifest'
  detail: string
}

export interface MissingBlob {
  digest: Digest
  /** `index.json` or the digest of the manifest that references it. */
  referencedBy: string
}

export interface VerifyReport {
  /** No corrupt or missing blob and a readable index.json; leftover temp files do not count. */
  ok: boolean
  /** Number of blobs re-hashed. */
  checked: number
  corrupt: CorruptBlob[]
  missing: MissingBlob[]
  /** Temp files whose writer is gone (killed mid-write): not corruption, removed by gc once old. */
  orphanTemp: TempFile[]
  /** Set when index.json cannot be read as an OCI index. */
  indexError?: string
}

/**
 * Re-hash every blob, then walk what index.json reaches and check that each referenced blob exists with the
 * size its descriptor states. Needs no lock: blobs appear by rename and gc removes only unreferenced ones,
 * and the walk runs last, on the newest index.
 */
export async function verifyStore(paths: StorePaths): Promise<VerifyReport> {
  const report: VerifyReport = {ok: false, checked: 0, corrupt: [], missing: [], orphanTemp: []}
  const corrupt = new Map<string, CorruptBlob>()
  for (const [algorithm, hex] of await listBlobFiles(paths)) {
    const digest = `${algorithm}:${hex}`
    if (!isDigest(digest)) continue
    const actual = await hashFile(join(paths.algorithmDir(algorithm), hex), algorithm as 'sha256' | 'sha512')
    if (actual === undefined) continue // removed by a concurrent gc
    report.checked++
    if (actual !== digest) corrupt.set(digest, {digest, reason: 'digest-mismatch', detail: `content hashes to ${actual}`})
  }

  try {
    const index = await readIndex(paths)
    const reachable = await walkReachable(paths, indexRoots(index))
    const missing = new Map<string, MissingBlob>()
    for (const {descriptor, referencedBy} of reachable.references) {
      const {digest, size} = descriptor
      if (missing.has(digest) || corrupt.has(digest)) continue
      const actualSize = await fileSize(paths.blob(digest))
      if (actualSize === undefined) missing.set(digest, {digest, referencedBy})
      else if (actualSize !== size) corrupt.set(digest, {digest, reason: 'size-mismatch', detail: `${actualSize} bytes, ${referencedBy} says ${size}`})
    }
    for (const {digest, reason} of reachable.unreadable) {
      if (!corrupt.has(digest)) corrupt.set(digest, {digest, reason: 'unreadable-manifest', detail: reason})
    }
    report.missing = [...missing.values()]
  } catch (e) {
    if (!isSlipwayError(e)) throw e
    report.indexError = e.message
  }
  report.corrupt = [...corrupt.values()]
  report.orphanTemp = (await listTempFiles(paths)).filter(t => !t.ownerAlive)
  report.ok = report.corrupt.length === 0 && report.missing.length === 0 && report.indexError === undefined
  return report
}

async function hashFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<Digest | undefined> {
  const digester = new Digester(algorithm)
  try {
    for await (const chunk of createReadStream(file, {highWaterMark: READ_CHUNK_BYTES})) digester.update(chunk as Buffer)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
  return digester.digest()
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}
