import {Readable} from 'node:stream'

import {SlipwayError} from '../../../src/errors.js'
import {sha256Digest} from '../../../src/oci/digest.js'
import {rechunk} from '../../../src/registry/blobs.js'
import {verifiedBlobStream} from '../../../src/registry/verified-stream.js'

const content = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(100))
const digest = sha256Digest(content)

function body(chunks: Buffer[], failAfter?: number): {body: Readable; skip: number} {
  async function* gen(): AsyncGenerator<Buffer> {
    let i = 0
    for (const c of chunks) {
      if (failAfter !== undefined && i++ === failAfter) throw Object.assign(new Error('other side closed'), {code: 'UND_ERR_SOCKET'})
      yield c
    }
  }
  return {body: Readable.from(gen()), skip: 0}
}

async function collect(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

const noResume = async (): Promise<never> => { throw new Error('no resume expected') }

describe('verifiedBlobStream', () => {
  it('passes matching content through and reports progress', async () => {
    const progress: number[] = []
    const out = await collect(verifiedBlobStream(body([content.subarray(0, 100), content.subarray(100)]), {
      digest, size: content.length, host: 'h', resume: noResume, maxResumes: 0, onProgress: (n) => progress.push(n),
    }))
    expect(out.equals(content)).toBe(true)
    expect(progress).toEqual([100, content.length])
  })

  it('fails with an integrity error when the content does not match', async () => {
    const altered = Buffer.from(content)
    altered[5] ^= 1
    await expect(collect(verifiedBlobStream(body([altered]), {digest, host: 'h', resume: noResume, maxResumes: 0})))
      .rejects.toMatchObject({kind: 'integrity', message: expect.stringContaining('does not match its digest')})
  })

  it('fails on a size mismatch and on content beyond the expected size', async () => {
    await expect(collect(verifiedBlobStream(body([content]), {digest, size: content.length + 1, host: 'h', resume: noResume, maxResumes: 0})))
      .rejects.toBeInstanceOf(SlipwayError)
    await expect(collect(verifiedBlobStream(body([content, Buffer.from('x')]), {digest, size: content.length, host: 'h', resume: noResume, maxResumes: 0})))
      .rejects.toMatchObject({kind: 'integrity', message: expect.stringContaining('larger than')})
  })

  it('resumes a dropped body from the received offset, also when the server ignores Range', async () => {
    const offsets: number[] = []
    const first = body([content.subarray(0, 1000), content.subarray(1000)], 1)
    const out = await collect(verifiedBlobStream(first, {
      digest, size: content.length, host: 'h', maxResumes: 2,
      resume: async (offset) => {
        offsets.push(offset)
        // A server answering 200 with the whole blob: the first `offset` bytes are skipped.
        return {body: Readable.from([content]), skip: offset}
      },
    }))
    expect(offsets).toEqual([1000])
    expect(out.equals(content)).toBe(true)
  })

  it('gives up with a network error after the allowed resumes', async () => {
    await expect(collect(verifiedBlobStream(body([content.subarray(0, 10), content.subarray(10)], 1), {
      digest, host: 'h', maxResumes: 1, resume: async () => body([content.subarray(10)], 0),
    }))).rejects.toMatchObject({kind: 'network'})
  })
})

describe('rechunk', () => {
  it('regroups into fixed-size buffers', async () => {
    const out: number[] = []
    for await (const c of rechunk(Readable.from([Buffer.alloc(3), Buffer.alloc(10), Buffer.alloc(2)]), 4)) out.push(c.length)
    expect(out).toEqual([4, 4, 4, 3])
  })
})
