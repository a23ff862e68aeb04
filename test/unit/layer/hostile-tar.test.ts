import {lstat, mkdir, readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import {SlipwayError} from '../../../src/errors.js'
import {extractLayer} from '../../../src/layer/extract.js'
import {tarOf as tarOfEntries, type TarEntryHeader} from '../../helpers/tar.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

type Entry = TarEntryHeader & {body?: string}

const tarOf = (entries: Entry[]): Promise<Buffer> => tarOfEntries(entries.map(({body, ...header}) => ({header, content: body})))

describe('extracting hostile layers', () => {
  let dir: string
  let sentinel: string
  beforeAll(async () => {
    dir = await makeTempDir('hostile-tar')
    sentinel = join(dir, 'sentinel')
    await mkdir(sentinel)
    await writeFile(join(sentinel, 'secret'), 'secret')
  })
  afterAll(async () => {
    await removeTempDir(dir)
  })

  async function expectRefused(name: string, entries: (s: string) => Entry[], message: RegExp): Promise<void> {
    const root = join(dir, name, 'a', 'root') // two levels deep so `../../x` would still land inside `dir`
    await mkdir(root, {recursive: true})
    const data = await tarOf(entries(sentinel))
    const err = await extractLayer(Readable.from([data]), root, {label: 'sha256:abc'}).then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect((err as SlipwayError).kind).toBe('integrity')
    expect((err as SlipwayError).message).toMatch(message)
    expect(await readdir(sentinel)).toEqual(['secret'])
    expect((await stat(join(sentinel, 'secret'))).nlink).toBe(1)
    expect((await readdir(join(dir, name))).sort()).toEqual(['a'])
    expect((await readdir(join(dir, name, 'a'))).sort()).toEqual(['root'])
    expect(await readdir(dir)).not.toContain('evil')
  }

  it('refuses ".." in a name', async () => {
    await expectRefused('dotdot', () => [{name: '../../../evil', body: 'x'}], /layer sha256:abc entry "..\/..\/..\/evil" escapes the root: ".." in path/)
  })

  it('refuses absolute names', async () => {
    await expectRefused('abs', s => [{name: join(s, 'evil'), body: 'x'}], /escapes the root: absolute path/)
  })

  it('refuses writing through a symlink that points outside', async () => {
    await expectRefused('symlink', s => [
      {name: 'etc', type: 'symlink', linkname: s},
      {name: 'etc/passwd', body: 'root::0:0::/:/bin/sh\n'},
    ], /entry "etc\/passwd" escapes the root: passes through symlink \/etc ->/)
  })

  it('refuses a relative symlink that climbs out of the root', async () => {
    await expectRefused('relsymlink', () => [
      {name: 'up', type: 'symlink', linkname: '../../../sentinel'},
      {name: 'up/evil', body: 'x'},
    ], /passes through symlink \/up -> ..\/..\/..\/sentinel, which points outside the root/)
  })

  it('refuses a symlink chain that ends outside', async () => {
    await expectRefused('chain', () => [
      {name: 'l2', type: 'symlink', linkname: 'sub/../..'},
      {name: 'l1', type: 'symlink', linkname: 'l2'},
      {name: 'l1/evil', body: 'x'},
    ], /escapes the root/)
  })

  it('refuses hard links to files outside', async () => {
    await expectRefused('hardlink', () => [{name: 'h', type: 'link', linkname: '../../../sentinel/secret'}], /entry "h" escapes the root: ".." in path/)
    await expectRefused('hardlink-abs', s => [{name: 'h', type: 'link', linkname: join(s, 'secret')}], /escapes the root: absolute path/)
    await expectRefused('hardlink-via-symlink', s => [
      {name: 'out', type: 'symlink', linkname: s},
      {name: 'h', type: 'link', linkname: 'out/secret'},
    ], /passes through symlink \/out ->/)
  })

  it('still follows symlinks that stay inside the root and creates absolute symlinks as plain links', async () => {
    const root = join(dir, 'benign')
    const data = await tarOf([
      {name: 'usr/lib/', type: 'directory'},
      {name: 'lib', type: 'symlink', linkname: 'usr/lib'},
      {name: 'lib/x.so', body: 'so'},
      {name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC'},
      {name: './etc/h', type: 'link', linkname: 'lib/x.so'},
    ])
    await extractLayer(Readable.from([data]), root)
    expect((await lstat(join(root, 'usr/lib/x.so'))).nlink).toBe(2)
    expect((await lstat(join(root, 'etc/localtime'))).isSymbolicLink()).toBe(true)
  })

  it('reports an archive that ends in the middle of a file as an integrity error, plain and gzipped', async () => {
    const data = await tarOf([{name: 'first', body: 'x'}, {name: 'big', body: 'y'.repeat(300_000)}])
    const cut = data.subarray(0, 150_000)
    for (const [i, bytes] of [cut, gzipSync(cut)].entries()) {
      const root = join(dir, `cut-${i}`)
      await expect(extractLayer(Readable.from([bytes]), root, {label: 'sha256:cut'})).rejects.toMatchObject({kind: 'integrity', message: expect.stringMatching(/^layer sha256:cut is not a valid tar archive/)})
      expect((await readdir(root)).sort()).toEqual(['big', 'first'])
    }
  })

  it('reports a corrupt archive as an integrity error', async () => {
    const root = join(dir, 'corrupt')
    const data = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 7)])
    await expect(extractLayer(Readable.from([data]), root, {label: 'sha256:bad'})).rejects.toMatchObject({kind: 'integrity', message: expect.stringMatching(/^layer sha256:bad is not a valid tar archive/)})
  })
})
