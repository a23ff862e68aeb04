/**
 * Deterministic gzip on every core (the pigz --independent shape): the input is cut into fixed-size
 * chunks, each deflated on its own in the deflate pool, and the outputs are joined in order into one gzip
 * member with a fixed header and the CRC32 and size of the whole input. The chunk size is ours, not the
 * host's, and so is each chunk's deflate level, so the same input gives the same bytes on any machine with
 * any number of workers.
 */
import {Transform, type TransformCallback} from 'node:stream'
import {crc32} from 'node:zlib'

import {DEFLATE_OPTIONS, deflatePool, type DeflatePool} from './deflate-pool.js'

export const GZIP_CHUNK_SIZE = 1024 * 1024

/**
 * A layer's first chunks deflate at DEFLATE_OPTIONS' level (6); the rest of a larger layer at level 1.
 * On the 216 MB layer of `apt-get install python3` level 1 takes 1.75 s of CPU where 6 takes 3.8 s (the
 * biggest single cost of a cold build on two cores) for 9% more bytes (84.6 MB against 77.8 MB); small
 * layers, where the time is nothing, keep the smaller output. The level goes by the chunk's index, so the
 * bytes still depend on the input alone.
 */
export const BEST_LEVEL_CHUNKS = 8
export const LARGE_LAYER_LEVEL = 1

export function chunkLevel(index: number): number {
  return index < BEST_LEVEL_CHUNKS ? DEFLATE_OPTIONS.level : LARGE_LAYER_LEVEL
}

/** No file name, no mtime, no extra flags, OS "unknown": nothing that depends on the host or the time. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff])

/** The member's trailer: CRC32 of the uncompressed data and its length modulo 2^32, both little-endian. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const out = Buffer.alloc(8)
  out.writeUInt32LE(crc >>> 0, 0)
  out.writeUInt32LE(size % 2 ** 32, 4)
  return out
}

/**
 * Cuts a stream of buffers into chunks of exactly `size` bytes (the last one shorter, possibly empty),
 * whatever the sizes of the pieces written.
 */
export class Chunker {
  #size: number
  #buf: Buffer
  #fill = 0

  constructor(size: number) {
    this.#size = size
    this.#buf = Buffer.allocUnsafeSlow(size)
  }

  /** The full chunks `piece` completes; each is a buffer of its own (deflated while later ones fill). */
  push(piece: Uint8Array): Buffer[] {
    const full: Buffer[] = []
    let at = 0
    while (at < piece.length) {
      const n = Math.min(this.#size - this.#fill, piece.length - at)
      this.#buf.set(piece.subarray(at, at + n), this.#fill)
      this.#fill += n
      at += n
      if (this.#fill === this.#size) {
        full.push(this.#buf)
        this.#buf = Buffer.allocUnsafeSlow(this.#size)
        this.#fill = 0
      }
    }
    return full
  }

  /** The bytes left after the last full chunk. */
  rest(): Buffer {
    return this.#buf.subarray(0, this.#fill)
  }
}

/** A gzip Transform whose output is the same bytes for the same input on every host. */
export function parallelGzip(pool: DeflatePool = deflatePool()): Transform {
  const chunker = new Chunker(GZIP_CHUNK_SIZE)
  const inFlight: Promise<Buffer>[] = [] // in input order
  const window = 2 * pool.size + 1 // bounds memory: at most this many chunks deflating or waiting
  const abort = new AbortController()
  let crc = 0
  let size = 0
  let chunks = 0
  let started = false
  const start = (stream: Transform): void => {
    if (started) return
    started = true
    stream.push(GZIP_HEADER)
  }

  const send = (chunk: Buffer, last: boolean): void => {
    crc = crc32(chunk, crc)
    size += chunk.length
    const out = pool.deflate(chunk, last, abort.signal, chunkLevel(chunks++))
    out.catch(() => {}) // a chunk whose turn never comes (the stream failed) must not be an unhandled rejection
    inFlight.push(out)
  }

  return new Transform({
    transform(piece: Buffer, _enc, cb: TransformCallback) {
      start(this)
      for (const chunk of chunker.push(piece)) send(chunk, false)
      const drain = async (): Promise<void> => {
        while (inFlight.length >= window) this.push(await inFlight.shift()!)
      }
      drain().then(() => cb(), cb)
    },
    flush(cb: TransformCallback) {
      start(this)
      send(chunker.rest(), true)
      const drain = async (): Promise<void> => {
        while (inFlight.length > 0) this.push(await inFlight.shift()!)
        this.push(gzipTrailer(crc, size))
      }
      drain().then(() => cb(), cb)
    },
    destroy(err, cb) {
      abort.abort()
      inFlight.length = 0
      cb(err)
    },
  })
}
