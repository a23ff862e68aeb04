import {execFileSync} from 'node:child_process'
import {chmod, chown, link, mkdir, readdir, rename, rm, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {diffLayer} from '../../../src/layer/diff.js'
import {extractLayer} from '../../../src/layer/extract.js'
import {packLayer, type LayerEntry} from '../../../src/layer/layer-writer.js'
import {writeLayer} from '../../../src/layer/root-layer.js'
import {snapshot} from '../../../src/layer/snapshot.js'
import {xattrToolsAvailable} from '../../../src/layer/xattr.js'
import {listTar} from '../../helpers/tar.js'
import {collectLayer, describeTree, useRootsDir} from '../../helpers/roots.js'

const CLAMP = 1_000_000_000 // 2001-09-09: older than any file written by the test

async function makeBase(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), {mode: 0o755})
  await writeFile(join(root, 'etc/conf'), 'v1\n')
  await writeFile(join(root, 'etc/keep'), 'keep\n')
  await mkdir(join(root, 'data/sub'), {recursive: true})
  await writeFile(join(root, 'data/a'), 'a')
  await writeFile(join(root, 'data/sub/b'), 'b')
  await mkdir(join(root, 'rep'))
  await writeFile(join(root, 'rep/x'), 'x')
  await mkdir(join(root, 'fresh'))
  await writeFile(join(root, 'fresh/old'), 'old')
  await writeFile(join(root, 'gone.txt'), 'gone')
  await writeFile(join(root, 'chm.txt'), 'chm', {mode: 0o644})
  await writeFile(join(root, 'own.txt'), 'own')
  await writeFile(join(root, 'big.txt'), 'big'.repeat(10000))
}

async function mutate(root: string): Promise<void> {
  await writeFile(join(root, 'new.txt'), 'new')
  await mkdir(join(root, 'newdir'))
  await writeFile(join(root, 'newdir/inner.txt'), 'inner')
  await writeFile(join(root, 'etc/conf'), 'v2 longer\n')
  await rm(join(root, 'gone.txt'))
  await rm(join(root, 'data'), {recursive: true})
  await rm(join(root, 'rep'), {recursive: true})
  await writeFile(join(root, 'rep'), 'now a file')
  // The new `fresh` is made while the old one still exists, so the filesystem cannot hand it the old inode
  // number (a reused number would make it the same directory with one child deleted, which is also right).
  await rename(join(root, 'fresh'), join(root, 'fresh-old'))
  await mkdir(join(root, 'fresh'))
  await rm(join(root, 'fresh-old'), {recursive: true})
  await writeFile(join(root, 'fresh/new'), 'new')
  await writeFile(join(root, 'hl1'), 'linked')
  await link(join(root, 'hl1'), join(root, 'hl2'))
  await link(join(root, 'big.txt'), join(root, 'big-link'))
  await symlink('etc/conf', join(root, 'sl'))
  await chmod(join(root, 'chm.txt'), 0o600)
  await chown(join(root, 'own.txt'), 1234, 2345)
}

describe('snapshot, diff and layer writing', () => {
  const work = useRootsDir()
  let root: string
  let base: string
  beforeAll(async () => {
    root = join(work.path, 'root')
    base = join(work.path, 'base')
    await mkdir(root)
    await makeBase(root)
    execFileSync('cp', ['-a', root, base])
  })

  it('finds added, modified, deleted, replaced and opaque paths and writes them as a sorted layer that round-trips', async () => {
    const before = await snapshot(root)
    await new Promise(r => setTimeout(r, 20))
    await mutate(root)
    const changes = await diffLayer(before, root)
    const byPath = Object.fromEntries(changes.map(c => [c.path, c.kind]))
    expect(byPath).toEqual({
      'big-link': 'added',
      'big.txt': 'modified', // its link count (ctime) changed
      'chm.txt': 'modified',
      'etc/conf': 'modified',
      fresh: 'opaque',
      'fresh/new': 'added',
      hl1: 'added',
      hl2: 'added',
      'new.txt': 'added',
      newdir: 'added',
      'newdir/inner.txt': 'added',
      'own.txt': 'modified',
      rep: 'added',
      sl: 'added',
      data: 'deleted',
      'gone.txt': 'deleted',
    })

    const {data, blob} = await collectLayer(writeLayer(root, changes, {mtimeClamp: CLAMP}))
    expect(blob.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(blob.size).toBe(data.length)
    const entries = await listTar(data)
    expect(entries.map(e => e.name)).toEqual([
      '.wh.data', '.wh.gone.txt', 'big-link', 'big.txt', 'chm.txt', 'etc/', 'etc/conf', 'fresh/', 'fresh/.wh..wh..opq',
      'fresh/new', 'hl1', 'hl2', 'new.txt', 'newdir/', 'newdir/inner.txt', 'own.txt', 'rep', 'sl',
    ])
    const e = Object.fromEntries(entries.map(x => [x.name, x]))
    expect(e['big.txt']).toMatchObject({type: 'link', linkname: 'big-link', size: 0})
    expect(e['big-link']).toMatchObject({type: 'file', size: 30000})
    expect(e['hl2']).toMatchObject({type: 'link', linkname: 'hl1'})
    expect(e['sl']).toMatchObject({type: 'symlink', linkname: 'etc/conf'})
    expect(e['chm.txt']).toMatchObject({mode: 0o600, content: 'chm'})
    expect(e['own.txt']).toMatchObject({uid: 1234, gid: 2345})
    expect(e['etc/conf']).toMatchObject({content: 'v2 longer\n', mtime: CLAMP})
    expect(e['.wh.data']).toMatchObject({type: 'file', size: 0, mtime: 0})
    for (const x of entries.filter(x => !x.name.includes('.wh.'))) expect(x.mtime).toBe(CLAMP)

    // Unpacking the layer over a copy of the base gives the same tree.
    const result = await extractLayer(Readable.from([data]), base, {label: 'roundtrip'})
    expect(result.entries).toBe(entries.length)
    expect(await describeTree(base)).toEqual(await describeTree(root))
  })

  it('snapshots depth first in byte order (a 1,000-deep chain too); a diff finds nothing in the unchanged root, then a deleted and a replaced subtree once each', async () => {
    const r = join(work.path, 'order')
    const deep = Array.from({length: 1000}, () => 'd').join('/')
    await mkdir(join(r, deep), {recursive: true})
    for (const name of ['b', 'a-', 'a/z', 'a/y/x', '\u00e9']) {
      await mkdir(join(r, name, '..'), {recursive: true})
      await writeFile(join(r, name), name)
    }
    await symlink('a/z', join(r, 'c'))
    const snap = await snapshot(r)
    const chain = Array.from({length: 1000}, (_, i) => Array.from({length: i + 1}, () => 'd').join('/'))
    expect([...snap.keys()]).toEqual(['a', 'a/y', 'a/y/x', 'a/z', 'a-', 'b', 'c', ...chain, '\u00e9'])
    expect(snap.get('c')?.linkTarget).toBe('a/z')
    expect(await diffLayer(snap, r)).toEqual([])
    await rm(join(r, 'd/d'), {recursive: true})
    await rm(join(r, 'a'), {recursive: true})
    await writeFile(join(r, 'a'), 'now a file')
    expect(await diffLayer(snap, r)).toEqual([{kind: 'added', path: 'a'}, {kind: 'deleted', path: 'd/d'}])
  })

  it('writes the same digest for the same files on different roots with different real mtimes', async () => {
    async function build(r: string, time: number): Promise<string> {
      await mkdir(r)
      const before = await snapshot(r)
      await mkdir(join(r, 'app/bin'), {recursive: true})
      await writeFile(join(r, 'app/bin/tool'), 'x'.repeat(70000), {mode: 0o755})
      await writeFile(join(r, 'app/readme'), 'hello')
      await symlink('bin/tool', join(r, 'app/link'))
      await writeFile(join(r, `app/${'long-name-'.repeat(12)}`), 'long')
      for (const p of ['app/bin/tool', 'app/readme', `app/${'long-name-'.repeat(12)}`, 'app/bin', 'app']) await utimes(join(r, p), time, time)
      const {blob} = await collectLayer(writeLayer(r, await diffLayer(before, r), {mtimeClamp: CLAMP}))
      expect(blob.diffId).not.toBe(blob.digest)
      return `${blob.digest} ${blob.diffId}`
    }
    const now = Math.floor(Date.now() / 1000)
    expect(await build(join(work.path, 'det1'), now)).toBe(await build(join(work.path, 'det2'), now - 5000))
  })

  it('writes an uncompressed layer whose digest is its diffId', async () => {
    const r = join(work.path, 'plain')
    await mkdir(r)
    const before = await snapshot(r)
    await writeFile(join(r, 'f'), 'f')
    const {data, blob} = await collectLayer(writeLayer(r, await diffLayer(before, r), {compression: 'none'}))
    expect(blob.digest).toBe(blob.diffId)
    expect(data.length % 512).toBe(0)
    expect((await listTar(data)).map(x => x.name)).toEqual(['f'])
  })

  it('applies whiteouts and opaque directories when extracting', async () => {
    const r = join(work.path, 'wh')
    await mkdir(join(r, 'a/deep'), {recursive: true})
    await writeFile(join(r, 'a/x'), 'x')
    await writeFile(join(r, 'a/deep/y'), 'y')
    await writeFile(join(r, 'b'), 'b')
    await mkdir(join(r, 'c'))
    await writeFile(join(r, 'c/keep'), 'keep')
    await writeFile(join(r, 'c/drop'), 'drop')
    const meta = {mode: 0o644, uid: 0, gid: 0, size: 0, mtime: CLAMP}
    const entries: LayerEntry[] = [
      {...meta, path: '.wh.b', type: 'file'},
      {...meta, path: 'a', type: 'directory', mode: 0o750},
      {...meta, path: 'a/.wh..wh..opq', type: 'file'},
      {...meta, path: 'a/z', type: 'file', size: 1, content: () => Readable.from([Buffer.from('z')])},
      {...meta, path: 'c/.wh.drop', type: 'file'},
    ]
    const {data} = await collectLayer(packLayer(entries))
    await extractLayer(Readable.from([data]), r)
    expect(Object.keys(await describeTree(r))).toEqual(['a', 'a/z', 'c', 'c/keep'])
    expect((await describeTree(r))['a']!.mode).toBe(0o750)
  })

  it('keeps the security.capability xattr through write and extract', async () => {
    if (!(await xattrToolsAvailable())) {
      console.warn('getfattr/setfattr missing (apt-get install attr): capability test skipped')
      return
    }
    const r = join(work.path, 'cap')
    await mkdir(r)
    const before = await snapshot(r)
    await writeFile(join(r, 'ping'), 'binary', {mode: 0o755})
    const cap = '0x0100000200200000000000000000000000000000' // cap_net_raw+ep
    execFileSync('setfattr', ['-n', 'security.capability', '-v', cap, join(r, 'ping')])
    const {data} = await collectLayer(writeLayer(r, await diffLayer(before, r)))
    const [entry] = await listTar(data)
    expect(Buffer.from(entry!.pax!['SCHILY.xattr.security.capability']!, 'utf8').toString('hex')).toBe(cap.slice(2))
    const out = join(work.path, 'cap-out')
    await extractLayer(Readable.from([data]), out)
    expect(execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '-n', 'security.capability', join(out, 'ping')]).toString()).toContain(`security.capability=${cap}`)
    expect(await readdir(out)).toEqual(['ping'])
  })
})
