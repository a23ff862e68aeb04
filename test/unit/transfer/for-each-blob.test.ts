import {forEachBlob} from '../../../src/transfer/index.js'
import type {Descriptor} from '../../../src/oci/types.js'

const blob = (name: string, size: number): Descriptor => ({mediaType: 'application/octet-stream', digest: `sha256:${name.padEnd(64, '0')}` as Descriptor['digest'], size})

describe('forEachBlob', () => {
  const blobs = [blob('a', 10), blob('b', 4000), blob('c', 1), blob('b', 4000), blob('d', 300)]

  it('starts the largest blobs first and answers in the order it was given, each digest once', async () => {
    const started: number[] = []
    const results = await forEachBlob(blobs, 1, async d => {
      started.push(d.size)
      return d.digest.slice(7, 8)
    })
    expect(started).toEqual([4000, 300, 10, 1])
    expect(results).toEqual(['a', 'b', 'c', 'd'])
  })

  it('keeps at most `jobs` running', async () => {
    let running = 0
    let most = 0
    await forEachBlob(blobs, 2, async () => {
      most = Math.max(most, ++running)
      await new Promise(resolve => setTimeout(resolve, 5))
      running--
    })
    expect(most).toBe(2)
  })
})
