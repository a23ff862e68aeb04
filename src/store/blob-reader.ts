import {open, readdir, stat} from 'node:fs/promises'
import {pipeline, type Readable, Transform, type TransformCallback} from 'node:stream'

import {SlipwayError} from '../errors.js'
import {isErrno} from '../fs-atomic.js'
import {type Digest, Digester, digestAlgorithm} from '../oci/digest.js'
import type {StorePaths} from './paths.js'

/** Read size for streaming blobs: 64 KiB reads (Node's default) cost three times the CPU of 1 MiB ones. */
export const READ_CHUNK_BYTES = 1024 * 1024

/** Largest blob `readBlob` loads into memory: manifests and configs are far smaller. */
export const DEFAULT_MAX_READ_BYTES = 16 * 1024 * 1024

function notFound(digest: Digest): SlipwayError {
  return new SlipwayError('not-found', `blob ${digest} is not in the local store`, {
    hint: 'pull or build the image again',
  })
}

function corrupt(digest: Digest, got: string): SlipwayError {
  return new SlipwayError('integrity', `blob ${digest} in the local store is corrupt (content hashes to ${got})`, {
    hint: 'run `slipway dimg cleanup` to drop it, then pull or build again',
  })
}

export async function blobStat(paths: StorePaths, digest: Digest): Promise<{size: number; mtimeMs: number} | undefined> {
  try {
    const st = await stat(paths.blob(digest))
    return st.isFile() ? {size: st.size, mtimeMs: st.mtimeMs} : undefined
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined
    throw e
  }
}

/** A stream of the blob's bytes; with `verify` (the default) it fails at the end if the content does not hash to `digest`. */
export async function openBlob(paths: StorePaths, digest: Digest, options: {verify?: boolean} = {}): Promise<Readable> {
  let fh
  try {
    fh = await open(paths.blob(digest), 'r')
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw notFound(digest)
    throw e
  }
  const raw = fh.createReadStream({autoClose: true, highWaterMark: READ_CHUNK_BYTES})
  if (options.verify === false) return raw
  // pipeline: an error on either side, or the consumer destroying the result, closes the file
  return pipeline(raw, new VerifyingStream(digest), () => {})
}

class VerifyingStream extends Transform {
  private readonly digester: Digester

  constructor(private readonly expected: Digest) {
    super()
    this.digester = new Digester(digestAlgorithm(expected))
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk)
    done(null, chunk)
  }

  override _flush(done: TransformCallback): void {
    const got = this.digester.digest()
    done(got === this.expected ? null : corrupt(this.expected, got))
  }
}

/** The whole blob in memory, checked against its digest. Meant for manifests and configs. */
export async function readBlob(paths: StorePaths, digest: Digest, maxBytes = DEFAULT_MAX_READ_BYTES): Promise<Buffer> {
  let fh
  try {
    fh = await open(paths.blob(digest), 'r')
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw notFound(digest)
    throw e
  }
  try {
    const {size} = await fh.stat()
    if (size > maxBytes) {
      throw new SlipwayError('integrity', `blob ${digest} is ${size} bytes, more than the ${maxBytes} bytes expected of a manifest or config`, {
        hint: 'the image is malformed or the reference points at a layer',
      })
    }
    const data = await fh.readFile()
    const digester = new Digester(digestAlgorithm(digest))
    digester.update(data)
    const got = digester.digest()
    if (got !== digest) throw corrupt(digest, got)
    return data
  } finally {
    await fh.close()
  }
}

export async function readJsonBlob<T>(paths: StorePaths, digest: Digest, what: string, maxBytes?: number): Promise<T> {
  const data = await readBlob(paths, digest, maxBytes)
  try {
    return JSON.parse(data.toString('utf8')) as T
  } catch (e) {
    throw new SlipwayError('integrity', `${what} ${digest} in the local store is not valid JSON: ${(e as Error).message}`)
  }
}

/** Every file under blobs/<algorithm>/, as [algorithm, name]; names need not be valid digests. */
export async function listBlobFiles(paths: StorePaths): Promise<[algorithm: string, hex: string][]> {
  const out: [string, string][] = []
  for (const algorithm of await readdirOrEmpty(paths.blobsDir)) {
    for (const hex of await readdirOrEmpty(paths.algorithmDir(algorithm))) out.push([algorithm, hex])
  }
  return out
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return []
    throw e
  }
}
