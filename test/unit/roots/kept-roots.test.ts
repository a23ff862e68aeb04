/** Kept roots on real directories: keyed by their chain, damaged ones never used, eviction by budget and use. */
import {spawn} from 'node:child_process'
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {KeptRoots} from '../../../src/roots/kept-roots.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const A = 'sha256:' + 'a'.repeat(64)
const B = 'sha256:' + 'b'.repeat(64)
const C = 'sha256:' + 'c'.repeat(64)

async function keep(kept: KeptRoots, chain: string[], kind: 'base' | 'upper', bytes = 0): Promise<string> {
  const made = await kept.create()
  await writeFile(join(made.files, 'data'), Buffer.alloc(bytes))
  const parent = kind === 'upper' ? ((await kept.stackFor(chain.slice(0, -1)))?.[0]?.key) : undefined
  const {root, release} = await kept.keep(made, {chain, kind, ...(parent ? {parent} : {})})
  await release()
  return root.key
}

describe('KeptRoots', () => {
  let home: string
  let kept: KeptRoots

  beforeEach(async () => {
    home = await makeTempDir('kept-roots')
    kept = await KeptRoots.open(home)
  })
  afterEach(async () => {
    await removeTempDir(home)
  })

  it('finds a stack by its chain of layers, topmost first, and the longest kept prefix of a longer chain', async () => {
    await keep(kept, [A], 'base')
    await keep(kept, [A, B], 'upper')
    expect((await kept.stackFor([A, B]))?.map(e => e.chain)).toEqual([[A, B], [A]])
    expect(await kept.stackFor([A, C])).toBeUndefined()
    expect((await kept.longestPrefix([A, B, C], 16))?.map(e => e.chain.length)).toEqual([2, 1])
    expect((await kept.longestPrefix([A, B, C], 1))?.map(e => e.chain.length)).toEqual([1])
    expect(await kept.longestPrefix([B], 16)).toBeUndefined()
  })

  it('never uses a damaged entry, nor one whose parent is gone; a half-made one is not an entry at all', async () => {
    await keep(kept, [A], 'base')
    const upper = await keep(kept, [A, B], 'upper')
    const half = await kept.create()
    await writeFile(join(half.files, 'x'), 'x')
    expect(await readdir(join(kept.dir, 'entries'))).toHaveLength(2)
    await rm(join(kept.dir, 'entries', KeptRoots.keyOf([A], 'base'), 'meta.json'))
    expect(await kept.stackFor([A, B])).toBeUndefined()
    expect(await kept.longestPrefix([A, B], 16)).toBeUndefined()
    // keeping the chain again replaces the damaged entry
    await keep(kept, [A], 'base')
    expect((await kept.stackFor([A, B]))?.[0]?.key).toBe(upper)
  })

  it('an entry made in another boot (never flushed, so maybe incomplete after a power loss) is not used, and goes at eviction', async () => {
    const key = await keep(kept, [A], 'base')
    expect((await kept.stackFor([A]))?.[0]?.key).toBe(key)
    const metaFile = join(kept.dir, 'entries', key, 'meta.json')
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as {boot: string}
    expect(meta.boot).toBe((await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim())
    await writeFile(metaFile, JSON.stringify({...meta, boot: '00000000-0000-4000-8000-000000000000'}))
    expect(await kept.stackFor([A])).toBeUndefined()
    await kept.evict(2 ** 40)
    expect(await readdir(join(kept.dir, 'entries'))).toEqual([])
  })

  it('a base flattening a stack is found before the stack', async () => {
    await keep(kept, [A], 'base')
    await keep(kept, [A, B], 'upper')
    await keep(kept, [A, B, C], 'upper')
    expect((await kept.stackFor([A, B, C]))?.map(e => e.kind)).toEqual(['upper', 'upper', 'base'])
    await keep(kept, [A, B, C], 'base')
    expect((await kept.stackFor([A, B, C]))?.map(e => e.kind)).toEqual(['base'])
    expect((await kept.longestPrefix([A, B], 16))?.map(e => e.kind)).toEqual(['upper', 'base'])
  })

  it('a second keep of the same chain gives the first one', async () => {
    const first = await kept.create()
    await writeFile(join(first.files, 'who'), 'first')
    const second = await kept.create()
    const {root: a} = await kept.keep(first, {chain: [A], kind: 'base'})
    const {root: b} = await kept.keep(second, {chain: [A], kind: 'base'})
    expect(b.files).toBe(a.files)
    expect(await readdir(b.files)).toEqual(['who'])
  })

  it('an entry is in use by its keeper from the moment it exists until released: a gc before the keeper marks its stack removes nothing', async () => {
    await keep(kept, [A], 'base')
    const made = await kept.create()
    const {root, release} = await kept.keep(made, {chain: [A, B], kind: 'upper', parent: KeptRoots.keyOf([A], 'base')})
    expect(await kept.removeStale(() => false)).toEqual([])
    expect(await kept.evict(0)).toEqual([])
    // a second keeper of the same chain gets the first one's entry, in use by it too
    const {root: again, release: releaseAgain} = await kept.keep(await kept.create(), {chain: [A, B], kind: 'upper', parent: KeptRoots.keyOf([A], 'base')})
    expect(again.key).toBe(root.key)
    await release()
    expect(await kept.evict(0)).toEqual([])
    await releaseAgain()
    expect((await kept.removeStale(() => false)).sort()).toEqual([KeptRoots.keyOf([A], 'base'), root.key].sort())
  })

  it('evicts least recently used entries down to the budget, with what stands on them, never a stack in use', async () => {
    await keep(kept, [A], 'base', 64 * 1024)
    await keep(kept, [A, B], 'upper', 64 * 1024)
    await keep(kept, [C], 'base', 64 * 1024)
    const stackC = (await kept.stackFor([C]))!
    const release = (await kept.use(stackC))!
    expect(await kept.evict(0)).toEqual(expect.arrayContaining([KeptRoots.keyOf([A], 'base'), KeptRoots.keyOf([A, B], 'upper')]))
    expect((await readdir(join(kept.dir, 'entries'))).sort()).toEqual([KeptRoots.keyOf([C], 'base')])
    await release()
    expect(await kept.evict(0)).toEqual([KeptRoots.keyOf([C], 'base')])
    expect(await readdir(join(kept.dir, 'entries'))).toEqual([])
  })

  it('a use mark of a process that is gone protects nothing; an upper in use protects its base', async () => {
    await keep(kept, [A], 'base')
    await keep(kept, [A, B], 'upper')
    const dead = await new Promise<number>(resolve => {
      const child = spawn('true')
      child.on('exit', () => resolve(child.pid!))
    })
    await mkdir(join(kept.dir, 'entries', KeptRoots.keyOf([A], 'base'), 'users'), {recursive: true})
    await writeFile(join(kept.dir, 'entries', KeptRoots.keyOf([A], 'base'), 'users', `${dead}-x`), '')
    const inUse = (await kept.use([(await kept.stackFor([A, B]))![0]!]))!
    expect(await kept.evict(0)).toEqual([])
    await inUse()
    expect((await kept.evict(0)).length).toBe(2)
  })

  it('removes stale entries and the leftovers of killed builds', async () => {
    await keep(kept, [A], 'base')
    await keep(kept, [A, B], 'upper')
    await mkdir(join(kept.dir, 'tmp', '999999-gone', 'files'), {recursive: true})
    expect(await kept.removeLeftovers()).toEqual(['999999-gone'])
    expect(await kept.removeStale(chain => chain.length === 1, true)).toEqual([KeptRoots.keyOf([A, B], 'upper')])
    expect(await readdir(join(kept.dir, 'entries'))).toHaveLength(2)
    expect(await kept.removeStale(chain => chain.length === 1)).toEqual([KeptRoots.keyOf([A, B], 'upper')])
    expect(await readdir(join(kept.dir, 'entries'))).toEqual([KeptRoots.keyOf([A], 'base')])
  })
})
