import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, stat, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {diffLayer} from '../../../src/layer/diff.js'
import {extractLayer} from '../../../src/layer/extract.js'
import {writeLayer} from '../../../src/layer/root-layer.js'
import {snapshot} from '../../../src/layer/snapshot.js'
import {useRootsDir} from '../../helpers/roots.js'

const SIZE = 256 * 1024 * 1024

describe('large layers', () => {
  const work = useRootsDir()

  it('streams a 256 MiB file through write and extract without holding it in memory', async () => {
    const root = join(work.path, 'root')
    await mkdir(root)
    const before = await snapshot(root)
    await writeFile(join(root, 'big'), '')
    await truncate(join(root, 'big'), SIZE) // sparse: cheap to make, full size to read
    const layer = writeLayer(root, await diffLayer(before, root))
    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const blobPath = join(work.path, 'layer.tar.gz')
    const file = createWriteStream(blobPath)
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        peak = Math.max(peak, process.memoryUsage().rss)
        file.write(chunk, cb)
      },
      final(cb) {
        file.end(cb)
      },
    })
    await pipeline(layer.stream, sink)
    const blob = await layer.done
    expect(blob.size).toBe((await stat(blobPath)).size)
    expect(peak - rssBefore).toBeLessThan(128 * 1024 * 1024) // well under the 256 MiB file, with room for GC noise

    const out = join(work.path, 'out')
    await extractLayer(createReadStream(blobPath), out)
    expect((await stat(join(out, 'big'))).size).toBe(SIZE)
  }, 120_000)
})
