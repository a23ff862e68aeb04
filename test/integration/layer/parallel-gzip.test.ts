import {execFileSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdir, readFile, readdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startScriptChild} from '../../helpers/script-child.js'
import {useRootsDir} from '../../helpers/roots.js'

const CHILD = fileURLToPath(new URL('../../helpers/layer-writer.mjs', import.meta.url))
const MiB = 1024 * 1024

interface Blob {
  digest: string
  diffId: string
  size: number
  mediaType: string
  workers: number
}

/** Runs the layer-writer child as another host would: its own process, its own number of workers. */
async function childLine(args: string[], workers: number, word: string): Promise<unknown> {
  const child = startScriptChild(CHILD, [], args, {SLIPWAY_GZIP_WORKERS: String(workers)})
  const line = await child.waitFor(`${word} `)
  expect(await child.exited).toBe(0) // it ends on its own: no compression work holds it open
  return JSON.parse(line.slice(word.length + 1))
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

describe('parallel layer compression', () => {
  const work = useRootsDir()
  let root: string
  beforeAll(async () => {
    root = join(work.path, 'root')
    await mkdir(join(root, 'usr/lib'), {recursive: true})
    await mkdir(join(root, 'etc'))
    // several 1 MiB chunks, some compressible, some not, cut across file boundaries
    await writeFile(join(root, 'usr/lib/random.bin'), randomBytes(3 * MiB + 12345))
    await writeFile(join(root, 'usr/lib/text.txt'), 'the same line, over and over\n'.repeat(150_000))
    for (let i = 0; i < 200; i++) await writeFile(join(root, 'etc', `conf-${i}`), `setting ${i}\n`)
    await symlink('usr/lib', join(root, 'lib'))
  })

  it('writes byte-identical layers with the same digest on two hosts with 1 and 4 workers, as valid gzip of the uncompressed layer', async () => {
    const [one, four, plain] = await Promise.all([
      childLine(['write', root, join(work.path, 'one.tar.gz'), 'gzip'], 1, 'blob') as Promise<Blob>,
      childLine(['write', root, join(work.path, 'four.tar.gz'), 'gzip'], 4, 'blob') as Promise<Blob>,
      childLine(['write', root, join(work.path, 'plain.tar'), 'none'], 2, 'blob') as Promise<Blob>,
    ])
    expect([one.workers, four.workers]).toEqual([1, 4])
    const a = await readFile(join(work.path, 'one.tar.gz'))
    const b = await readFile(join(work.path, 'four.tar.gz'))
    expect(a.length).toBeGreaterThan(3 * MiB) // more than one chunk
    expect(b.equals(a)).toBe(true)
    expect(four.digest).toBe(one.digest)
    expect(one.digest).toBe(sha256(a))
    expect(one.size).toBe(a.length)

    execFileSync('gzip', ['-t', join(work.path, 'one.tar.gz')])
    const unzipped = execFileSync('zcat', [join(work.path, 'one.tar.gz')], {maxBuffer: 64 * MiB})
    const tar = await readFile(join(work.path, 'plain.tar'))
    expect(unzipped.equals(tar)).toBe(true)
    expect(one.diffId).toBe(sha256(tar))
    expect(plain.digest).toBe(one.diffId)
  }, 120_000)

  it('an abort in the middle of a layer leaves no temp blob, no blob, and no worker keeping the process alive', async () => {
    const big = join(work.path, 'big')
    await mkdir(big)
    for (let i = 0; i < 6; i++) await writeFile(join(big, `part-${i}`), randomBytes(4 * MiB))
    const store = join(work.path, 'store')
    const result = await childLine(['abort', big, store, String(2 * MiB)], 2, 'aborted') as {error: string; written: number; tmp: string[]; blobs: string[]}
    expect(result.error).toBe('AbortError')
    expect(result.written).toBeLessThan(20 * MiB) // stopped well before the 24 MiB layer's end
    expect(result.tmp).toEqual([])
    expect(result.blobs).toEqual([])
    expect(await readdir(join(store, 'tmp'))).toEqual([])
  }, 120_000)
})
