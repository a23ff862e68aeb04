import {SlipwayError} from '../errors.js'
import {type Digest, Digester, digestAlgorithm} from '../oci/digest.js'
import {networkError} from './errors.js'

/** A body that may continue from a byte offset after a dropped connection. */
export interface ResumableBody {
  body: AsyncIterable<Buffer> & {destroy(): void}
  /** Bytes at the start of `body` that were already received (a server that ignored Range). */
  skip: number
}

export interface VerifyOptions {
  digest: Digest
  size?: number
  host: string
  /** Opens the body again from `offset` (a Range request). */
  resume: (offset: number) => Promise<ResumableBody>
  maxResumes: number
  onProgress?: (bytes: number) => void
  /**
   * false: the consumer checks the digest itself (the store's blob writer does, before anything becomes
   * visible), so the bytes are not hashed twice; the size is still enforced. Default true.
   */
  checkDigest?: boolean
}

/** Counts bytes and, unless the digest is checked elsewhere, hashes them. */
class Tally {
  size = 0
  private readonly digester?: Digester
  constructor(digest: Digest, hash: boolean) {
    if (hash) this.digester = new Digester(digestAlgorithm(digest))
  }

  update(chunk: Buffer): void {
    this.size += chunk.length
    this.digester?.update(chunk)
  }

  digest(): Digest | undefined {
    return this.digester?.digest()
  }
}

/** A blob's content as it arrives; `destroy()` stops it and releases the connection. */
export type BlobBody = AsyncIterable<Buffer> & {destroy(): void}

/**
 * Streams a blob while hashing it: a dropped connection continues from the bytes already received,
 * and the stream fails with an integrity error at the end (before signalling end) if the digest (unless
 * `checkDigest` is false) or size is wrong, or as soon as it grows beyond the expected size.
 * A plain async generator, not a Readable: every 64 KiB network chunk of a large pull passes through here,
 * and a stream around the generator costs measurable CPU for no use (consumers iterate it).
 */
export function verifiedBlobStream(first: ResumableBody, opts: VerifyOptions): BlobBody {
  const chunks = verifiedChunks(first, opts)
  return Object.assign(chunks, {destroy: () => void chunks.return(undefined)})
}

async function* verifiedChunks(first: ResumableBody, opts: VerifyOptions): AsyncGenerator<Buffer> {
  const tally = new Tally(opts.digest, opts.checkDigest !== false)
  let current: ResumableBody = first
  let resumes = 0
  try {
    for (;;) {
      try {
        let skip = current.skip
        for await (const raw of current.body) {
          let chunk = raw
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length)
            skip -= drop
            chunk = chunk.subarray(drop)
            if (chunk.length === 0) continue
          }
          tally.update(chunk)
          if (opts.size !== undefined && tally.size > opts.size) {
            throw new SlipwayError('integrity', `blob ${opts.digest} from ${opts.host} is larger than the expected ${opts.size} bytes`)
          }
          opts.onProgress?.(tally.size)
          yield chunk
        }
        break
      } catch (e) {
        if (e instanceof SlipwayError) throw e
        // the connection dropped after the last byte: nothing to resume (a Range request would get 416)
        if (opts.size !== undefined && tally.size === opts.size) break
        if (resumes >= opts.maxResumes) throw networkError(opts.host, e)
        resumes++
        discardBody(current.body)
        current = await opts.resume(tally.size)
      }
    }
  } finally {
    discardBody(current.body)
  }
  const got = tally.digest()
  if (opts.size !== undefined && tally.size !== opts.size) {
    throw new SlipwayError('integrity', `blob ${opts.digest} from ${opts.host} has ${tally.size} bytes, expected ${opts.size}`)
  }
  if (got !== undefined && got !== opts.digest) {
    throw new SlipwayError('integrity', `blob from ${opts.host} does not match its digest: expected ${opts.digest}, got ${got}`, {
      hint: 'the registry or a proxy in between altered the content; retry, and report it if it persists',
    })
  }
}

function discardBody(body: ResumableBody['body']): void {
  const emitter = body as unknown as {on?: (event: string, fn: () => void) => void}
  emitter.on?.('error', () => { /* already failed or no longer wanted */ })
  body.destroy()
}
