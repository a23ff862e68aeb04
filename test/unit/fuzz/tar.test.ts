import {execFile} from 'node:child_process'
import {mkdir, readdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'

import {extractLayer} from '../../../src/layer/extract.js'
import {SlipwayError} from '../../../src/errors.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {mutateBytes, pick, seededRandom} from './support.js'

const run = promisify(execFile)

/**
 * Mutation fuzzing of the layer reader: real tar archives (GNU tar: files, dirs, symlinks, hard links,
 * long names, whiteouts), plain and gzipped, damaged by seeded mutations that favour hostile names
 * (`..`, absolute paths, links). Each is unpacked into a fresh root inside a sentinel directory: the
 * extraction must succeed or throw a SlipwayError, and nothing may appear outside the root.
 */
const SEED = Number(process.env.SLIPWAY_FUZZ_SEED ?? 4_242)
const RUNS = Number(process.env.SLIPWAY_FUZZ_RUNS ?? 300)

let work: string
const corpus: Buffer[] = []

beforeAll(async () => {
  work = await makeTempDir('fuzz-tar')
  const src = join(work, 'src')
  await mkdir(join(src, 'etc/deep/er'), {recursive: true})
  await writeFile(join(src, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  await writeFile(join(src, 'etc/deep/er/file.txt'), 'x'.repeat(3000))
  await writeFile(join(src, `etc/${'long-name-'.repeat(15)}`), 'long')
  await writeFile(join(src, '.wh.gone'), '')
  await symlink('../passwd', join(src, 'etc/deep/link'))
  await symlink('/etc/passwd', join(src, 'abs-link'))
  await run('ln', [join(src, 'etc/passwd'), join(src, 'hard')])
  for (const format of ['gnu', 'posix', 'ustar']) {
    const tarFile = join(work, `layer-${format}.tar`)
    await run('tar', ['--format', format, '-C', src, '-cf', tarFile, '.']).catch(() => undefined)
    const bytes = await readFile(tarFile).catch(() => undefined)
    if (bytes) corpus.push(bytes, gzipSync(bytes))
  }
  expect(corpus.length).toBeGreaterThanOrEqual(4)
})
afterAll(() => removeTempDir(work))

const hostile = ['../', '../../../../tmp/', '/', '/etc/', 'a/../../', './../', '\0', 'etc/deep/link/', 'abs-link/', '.wh..wh..opq', '.wh.', '0000777', '777777777777', '\x01\x02', 'ustar  \0', 'ustar\x0000']
  .map(s => Buffer.from(s))

it(`unpacks or refuses ${RUNS} mutated layers with a SlipwayError only, never writing outside the root (seed ${SEED})`, async () => {
  const random = seededRandom(SEED)
  let unpacked = 0
  let refused = 0
  for (let i = 0; i < RUNS; i++) {
    const input = mutateBytes(pick(random, corpus), random, hostile)
    const sentinel = join(work, `run-${i}`)
    const root = join(sentinel, 'inside', 'root')
    await mkdir(root, {recursive: true})
    try {
      let timer: NodeJS.Timeout | undefined
      const hung = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('HUNG: no result within 10 s')), 10_000) })
      try {
        await Promise.race([extractLayer(Readable.from([input]), root, {label: `run-${i}`}), hung])
      } finally {
        clearTimeout(timer)
      }
      unpacked++
    } catch (e) {
      if (!(e instanceof SlipwayError)) {
        const saved = join(tmpdir(), `slipway-fuzz-tar-${SEED}-${i}.bin`)
        await writeFile(saved, input)
        throw new Error(`run ${i} (seed ${SEED}) threw ${String(e)}; input saved to ${saved}`)
      }
      refused++
    }
    // nothing but the root's own parents may exist around it
    expect(await readdir(sentinel)).toEqual(['inside'])
    expect(await readdir(join(sentinel, 'inside'))).toEqual(['root'])
    await removeTempDir(sentinel)
  }
  // how many of each depends on SLIPWAY_FUZZ_SEED: only that the mutations exercise both paths
  expect(unpacked).toBeGreaterThan(0)
  expect(refused).toBeGreaterThan(0)
}, 120_000)
