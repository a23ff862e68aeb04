import {type FileHandle, mkdir, open, rename, stat, unlink, utimes} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import type {Readable} from 'node:stream'

import {SlipwayError} from '../errors.js'
import {fsyncDir, isErrno, tempName} from '../fs-atomic.js'
import {type Digest, Digester, digestAlgorithm} from '../oci/digest.js'
import type {Lease} from './leases.js'
import type {StorePaths} from './paths.js'

/** Bytes to store: a stream, any async iterable of chunks, or a buffer. */
export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array
/** Called only when the blob must really be written, so nothing is fetched for a blob the store has. */
export type BlobOpener = () => BlobSource | Promise<BlobSource>

export interface ExpectedBlob {
  digest?: Digest
  size?: number
}

export interface WrittenBlob {
  digest: Digest
  size: number
  /** false when the store already had the blob and nothing was read. */
  written: boolean
}

/**
 * Store one blob: stream into a temp file in the store, digest and count while streaming (stop at the first
 * byte beyond the expected size), fsync, check, rename into place, fsync the directory.
 * A mismatch throws SlipwayError('integrity') and leaves nothing behind.
 *
 * With a `lease`, the blob is leased before it can be seen in blobs/ (a known digest before anything else,
 * an unknown one between hashing and the rename), and before an existing copy is taken as present: gc lists
 * blobs before it reads the leases, and re-reads them before it deletes one (gc.ts), so a gc cannot sweep a
 * blob this call returns. Without a lease only the age (`store gc --min-age`) protects it until referenced.
 */
export async function writeBlob(paths: StorePaths, source: BlobSource | BlobOpener, expected: ExpectedBlob = {}, lease?: Lease): Promise<WrittenBlob> {
  if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
    throw new SlipwayError('usage', `invalid expected blob size ${expected.size}`)
  }
  if (expected.digest !== undefined) {
    await lease?.add(expected.digest)
    const size = await touchExisting(paths.blob(expected.digest), expected.size)
    if (size !== undefined) {
      if (typeof source !== 'function') discard(source)
      return {digest: expected.digest, size, written: false}
    }
  }
  const input = typeof source === 'function' ? await source() : source
  const digester = new Digester(expected.digest ? digestAlgorithm(expected.digest) : 'sha256')
  const tmp = join(paths.tmpDir, tempName('blob'))
  try {
    await streamToFile(input, tmp, digester, expected)
    const digest = digester.digest()
    if (expected.size !== undefined && digester.size !== expected.size) {
      throw mismatch(`size ${digester.size}`, `${expected.size} bytes`, expected)
    }
    if (expected.digest !== undefined && digest !== expected.digest) {
      throw mismatch(digest, expected.digest, expected)
    }
    await lease?.add(digest)
    const target = paths.blob(digest)
    await mkdir(dirname(target), {recursive: true}) // blobs/sha512 is made on first use
    await rename(tmp, target)
    await fsyncDir(dirname(target))
    return {digest, size: digester.size, written: true}
  } catch (e) {
    await unlink(tmp).catch(() => {})
    discard(input)
    if (isErrno(e, 'ENOSPC') || isErrno(e, 'EDQUOT')) {
      throw new SlipwayError('environment', `no space left on device for the store ${paths.root}`, {hint: 'free disk space (or set SLIPWAY_HOME to a bigger filesystem) and run again', cause: e})
    }
    throw e
  }
}

/** Network reads arrive in chunks of 16-64 KiB: they are written to disk in batches of at least this. */
const WRITE_BATCH_BYTES = 1024 * 1024

async function streamToFile(input: BlobSource, file: string, digester: Digester, expected: ExpectedBlob): Promise<void> {
  const fh = await open(file, 'wx')
  try {
    const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = input instanceof Uint8Array ? [input] : input
    let batch: Uint8Array[] = []
    let batchBytes = 0
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      digester.update(bytes)
      if (expected.size !== undefined && digester.size > expected.size) {
        throw mismatch(`more than ${expected.size} bytes`, `${expected.size} bytes`, expected)
      }
      batch.push(bytes)
      batchBytes += bytes.length
      if (batchBytes >= WRITE_BATCH_BYTES) {
        await writeAll(fh, batch)
        batch = []
        batchBytes = 0
      }
    }
    await writeAll(fh, batch)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes the buffers in order, continuing after short writes. */
async function writeAll(fh: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers.filter(b => b.length > 0)
  while (rest.length > 0) {
    let {bytesWritten} = await fh.writev(rest)
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
      bytesWritten -= rest[0]!.length
      rest = rest.slice(1)
    }
    if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)]
  }
}

function mismatch(got: string, want: string, expected: ExpectedBlob): SlipwayError {
  const what = expected.digest ? `blob ${expected.digest}` : 'blob'
  return new SlipwayError('integrity', `${what} does not match what was expected: got ${got}, expected ${want}`, {
    hint: 'the source sent corrupt or different content; nothing was stored, retry',
  })
}

/**
 * If the blob is in place (with the expected size, when known), mark it freshly used so a concurrent gc with a
 * minimum age keeps it until the caller references it (a lease taken before this protects it from any gc),
 * and return its size. A blob of the wrong size is treated as absent and
 * gets rewritten (the rename replaces it once the new content checked out).
 */
async function touchExisting(path: string, expectedSize: number | undefined): Promise<number | undefined> {
  try {
    const now = new Date()
    await utimes(path, now, now)
    const st = await stat(path)
    if (expectedSize !== undefined && st.size !== expectedSize) return undefined
    return st.size
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

function discard(source: BlobSource | undefined): void {
  const s = source as {destroy?: () => void} | undefined
  if (s && typeof s.destroy === 'function') s.destroy()
}
