import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {buffer} from 'node:stream/consumers'
import {constants, crc32, deflateRawSync, gunzipSync, inflateRawSync} from 'node:zlib'

import {DEFLATE_OPTIONS, DeflatePool, workerCount} from '../../../src/layer/deflate-pool.js'
import {BEST_LEVEL_CHUNKS, Chunker, GZIP_CHUNK_SIZE, GZIP_HEADER, gzipTrailer, LARGE_LAYER_LEVEL, parallelGzip} from '../../../src/layer/parallel-gzip.js'

const MiB = 1024 * 1024

/** Half random, half repetitive: compresses some, and differently in every chunk. */
function sample(size: number): Buffer {
  const out = Buffer.alloc(size)
  randomBytes(Math.floor(size / 2)).copy(out)
  for (let i = Math.floor(size / 2); i < size; i++) out[i] = (i * 31) % 97
  return out
}

/** Writes `data` in pieces of the given sizes, cycling through them. */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!
    out.push(data.subarray(at, at + n))
    at += n
  }
  return out
}

async function gzipWith(pool: DeflatePool, parts: Buffer[]): Promise<Buffer> {
  return buffer(Readable.from(parts).pipe(parallelGzip(pool)))
}

describe('Chunker', () => {
  it('cuts any sequence of pieces into chunks of exactly its size, with the rest left over', () => {
    const data = sample(100)
    for (const sizes of [[1], [7], [3, 50, 1], [100], [13, 0, 13]]) {
      const chunker = new Chunker(16)
      const chunks = pieces(data, sizes).flatMap(p => chunker.push(p))
      expect(chunks.map(c => c.length)).toEqual([16, 16, 16, 16, 16, 16])
      expect(Buffer.concat([...chunks, chunker.rest()])).toEqual(data)
      expect(chunker.rest().length).toBe(4)
    }
  })

  it('gives a new buffer for every chunk (each is deflated while later ones fill) and an empty rest on a chunk boundary', () => {
    const chunker = new Chunker(8)
    const chunks = chunker.push(sample(24))
    expect(new Set(chunks.map(c => c.buffer)).size).toBe(3)
    expect(chunker.rest().length).toBe(0)
  })
})

describe('gzipTrailer', () => {
  it('is the CRC32 and the size modulo 2^32, little-endian', () => {
    expect(gzipTrailer(0xcbf43926, 9)).toEqual(Buffer.from([0x26, 0x39, 0xf4, 0xcb, 9, 0, 0, 0]))
    expect(gzipTrailer(1, 2 ** 32 + 5).readUInt32LE(4)).toBe(5)
    expect(gzipTrailer(-1, 0).readUInt32LE(0)).toBe(0xffffffff)
  })
})

describe('workerCount', () => {
  it('defaults to the cores and accepts a whole number; anything else is a usage error', () => {
    expect(workerCount(undefined)).toBeGreaterThanOrEqual(1)
    expect(workerCount('3')).toBe(3)
    for (const bad of ['0', '-1', '2.5', 'many', '65']) expect(() => workerCount(bad)).toThrow(expect.objectContaining({kind: 'usage'}))
  })
})

describe('parallelGzip', () => {
  const one = new DeflatePool(1)
  const three = new DeflatePool(3)
  afterAll(async () => {
    await Promise.all([one.close(), three.close()])
  })

  it('is one gzip member of independently deflated 1 MiB chunks (sync-flushed, the last finished) with a fixed header and the whole CRC32 and size', async () => {
    const data = sample(3 * MiB + 4096)
    const out = await gzipWith(three, [data])
    const chunks = [0, 1, 2, 3].map(i => data.subarray(i * GZIP_CHUNK_SIZE, (i + 1) * GZIP_CHUNK_SIZE))
    const expected = Buffer.concat([
      GZIP_HEADER,
      ...chunks.map((c, i) => deflateRawSync(c, {...DEFLATE_OPTIONS, finishFlush: i === 3 ? constants.Z_FINISH : constants.Z_SYNC_FLUSH})),
      gzipTrailer(crc32(data), data.length),
    ])
    expect(out.equals(expected)).toBe(true)
    expect(out.subarray(0, 10)).toEqual(Buffer.from('1f8b08000000000000ff', 'hex'))
    expect(gunzipSync(out).equals(data)).toBe(true)
  })

  it('deflates the chunks after the first BEST_LEVEL_CHUNKS at the large-layer level, by their index alone', async () => {
    const data = sample((BEST_LEVEL_CHUNKS + 2) * GZIP_CHUNK_SIZE + 77)
    const count = BEST_LEVEL_CHUNKS + 3
    const chunks = Array.from({length: count}, (_, i) => data.subarray(i * GZIP_CHUNK_SIZE, (i + 1) * GZIP_CHUNK_SIZE))
    const deflated = chunks.map((c, i) =>
      deflateRawSync(c, {...DEFLATE_OPTIONS, level: i < BEST_LEVEL_CHUNKS ? DEFLATE_OPTIONS.level : LARGE_LAYER_LEVEL, finishFlush: i === count - 1 ? constants.Z_FINISH : constants.Z_SYNC_FLUSH}),
    )
    const out = await gzipWith(three, pieces(data, [349_525]))
    expect(out.equals(Buffer.concat([GZIP_HEADER, ...deflated, gzipTrailer(crc32(data), data.length)]))).toBe(true)
    expect(LARGE_LAYER_LEVEL).toBeLessThan(DEFLATE_OPTIONS.level)
    expect(deflated[BEST_LEVEL_CHUNKS]!.equals(deflateRawSync(chunks[BEST_LEVEL_CHUNKS]!, {...DEFLATE_OPTIONS, finishFlush: constants.Z_SYNC_FLUSH}))).toBe(false)
    expect(gunzipSync(out).equals(data)).toBe(true)
  })

  it('deflates a layer of one chunk to one finished deflate block run, the same bytes as zlib alone', async () => {
    const pool = new DeflatePool(2)
    const data = sample(GZIP_CHUNK_SIZE - 1)
    const out = await gzipWith(pool, pieces(data, [4096]))
    expect(pool.running).toBe(0)
    const expected = Buffer.concat([GZIP_HEADER, deflateRawSync(data, {...DEFLATE_OPTIONS, finishFlush: constants.Z_FINISH}), gzipTrailer(crc32(data), data.length)])
    expect(out.equals(expected)).toBe(true)
    await pool.close()
  })

  it('writes the same bytes with any number of workers and however the input is split', async () => {
    const data = sample(2 * MiB + 333)
    const a = await gzipWith(one, [data])
    const b = await gzipWith(three, pieces(data, [65536]))
    const c = await gzipWith(three, pieces(data, [1, 1000, MiB + 7, 12345]))
    expect(b.equals(a)).toBe(true)
    expect(c.equals(a)).toBe(true)
  })

  it('keeps each stream in order when several share the pool (layers of dimgs built at once)', async () => {
    const inputs = [sample(3 * MiB + 1), sample(2 * MiB + 2), sample(MiB + 3)]
    const alone: Buffer[] = []
    for (const d of inputs) alone.push(await gzipWith(one, [d]))
    const together = await Promise.all(inputs.map(d => gzipWith(three, pieces(d, [100_000]))))
    together.forEach((out, i) => expect(out.equals(alone[i]!)).toBe(true))
  })

  it.each([0, 1, GZIP_CHUNK_SIZE - 1, GZIP_CHUNK_SIZE, GZIP_CHUNK_SIZE + 1, 2 * GZIP_CHUNK_SIZE])('round-trips %d bytes', async size => {
    const data = sample(size)
    const out = await gzipWith(three, pieces(data, [300_000]))
    expect(gunzipSync(out).equals(data)).toBe(true)
    expect(out.readUInt32LE(out.length - 8)).toBe(crc32(data))
    expect(out.readUInt32LE(out.length - 4)).toBe(size)
  })

  it('fails with the error of a stream that fails, and drops its queued chunks', async () => {
    const source = new Readable({read() {}})
    const gz = source.pipe(parallelGzip(one))
    source.push(sample(4 * MiB))
    const failure = new Error('disk gone')
    setImmediate(() => gz.destroy(failure))
    await expect(buffer(gz)).rejects.toBe(failure)
    // the pool is free again: a later stream is not stuck behind the dropped chunks
    expect(gunzipSync(await gzipWith(one, [Buffer.from('after')])).toString()).toBe('after')
  })
})

describe('DeflatePool', () => {
  it('rejects queued jobs whose signal aborts, finishes the running one, and refuses jobs once closed', async () => {
    const pool = new DeflatePool(1)
    const abort = new AbortController()
    const running = pool.deflate(sample(MiB), false, abort.signal)
    const queued = pool.deflate(sample(MiB), false, abort.signal)
    const other = pool.deflate(sample(1000), true)
    abort.abort()
    await expect(queued).rejects.toMatchObject({name: 'AbortError'})
    await expect(running).rejects.toMatchObject({name: 'AbortError'}) // its output is dropped
    expect(inflateRawSync(await other).length).toBe(1000)
    expect(pool.running).toBe(0)
    await pool.close()
    await expect(pool.deflate(Buffer.from('x'), true)).rejects.toMatchObject({kind: 'internal'})
  })
})
