import {execFile} from 'node:child_process'
import {chmod, chown, lstat, mkdir, readdir, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {promisify} from 'node:util'

import {SlipwayError} from '../../../src/errors.js'
import {extractLayer} from '../../../src/layer/extract.js'
import {tarOf as tarOfEntries, type TarEntryHeader} from '../../helpers/tar.js'
import {tempDir} from '../../helpers/roots.js'

type Entry = TarEntryHeader & {body?: string}

const run = promisify(execFile)
const tarOf = (entries: Entry[]): Promise<Buffer> => tarOfEntries(entries.map(({body, ...header}) => ({header, content: body})))

/**
 * Layers that try to change a host directory or file through the metadata the extractor applies (deferred
 * directory modes and mtimes, chmod, chown, utimes, capabilities), through whiteouts and opaque markers, or
 * by creating entries over symlinks. Each case unpacks its layers, in order, onto a fresh root beside a
 * real host directory and file, and may succeed or be refused: the host side must be exactly as it was.
 */
describe('a layer never changes anything outside the root', () => {
  const CAPABILITY = {'SCHILY.xattr.security.capability': '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'}
  const LONG_AGO = new Date('2001-02-03T04:05:06Z')
  const hostile = {mode: 0o7777, uid: 4242, gid: 4242, mtime: new Date('2030-01-01T00:00:00Z')}
  let dir: string
  beforeAll(async () => {
    dir = await tempDir()
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  interface HostNode {
    path: string
    mode: number
    uid: number
    gid: number
    mtimeMs: number
    nlink: number
    content?: string
    capability: string
  }

  async function capabilityOf(abs: string): Promise<string> {
    const r = await run('getfattr', ['--absolute-names', '-h', '-e', 'hex', '-n', 'security.capability', abs]).catch(() => ({stdout: ''}))
    return r.stdout.trim()
  }

  /** Everything about the host tree a layer could change. */
  async function describeHost(host: string): Promise<HostNode[]> {
    const out: HostNode[] = []
    const walk = async (rel: string): Promise<void> => {
      const abs = join(host, rel)
      const st = await lstat(abs)
      out.push({
        path: rel, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, nlink: st.nlink,
        content: st.isFile() ? await readFile(abs, 'utf8') : undefined, capability: await capabilityOf(abs),
      })
      if (st.isDirectory()) for (const name of (await readdir(abs)).sort()) await walk(join(rel, name))
    }
    await walk('')
    return out
  }

  /** A host directory `dir` (holding `b/` and `secret`) and a host file `file`, all 0755/0644 root-owned and long unmodified. */
  async function makeHost(host: string): Promise<void> {
    await mkdir(join(host, 'dir', 'b'), {recursive: true})
    await writeFile(join(host, 'dir', 'secret'), 'secret')
    await writeFile(join(host, 'file'), 'original')
    for (const [rel, mode] of [['dir/b', 0o755], ['dir/secret', 0o644], ['dir', 0o755], ['file', 0o644], ['', 0o755]] as const) {
      await chmod(join(host, rel), mode)
      await utimes(join(host, rel), LONG_AGO, LONG_AGO)
    }
  }

  type Case = [name: string, layers: (host: string) => Entry[][]]
  const cases: Case[] = [
    ['deferred directory metadata, the directory replaced by an absolute symlink to a host directory', h => [[
      {name: 'd/', type: 'directory', ...hostile},
      {name: 'd', type: 'symlink', linkname: `${h}/dir`},
    ]]],
    ['deferred directory metadata, the directory replaced by a relative symlink that climbs out', () => [[
      {name: 'd/', type: 'directory', ...hostile},
      {name: 'd', type: 'symlink', linkname: '../../../host/dir'},
    ]]],
    ['deferred directory metadata, the directory replaced by a symlink to a host file', h => [[
      {name: 'd/', type: 'directory', ...hostile},
      {name: 'd', type: 'symlink', linkname: `${h}/file`},
    ]]],
    ['deferred metadata of a subdirectory whose parent is replaced by a symlink to a host directory', h => [[
      {name: 'a/', type: 'directory'},
      {name: 'a/b/', type: 'directory', ...hostile},
      {name: 'a', type: 'symlink', linkname: `${h}/dir`},
    ]]],
    ['a directory replaced by a symlink and created again in the same layer', h => [[
      {name: 'd/', type: 'directory', ...hostile},
      {name: 'd', type: 'symlink', linkname: `${h}/dir`},
      {name: 'd/', type: 'directory', mode: 0o755},
    ]]],
    ['a file written where a lower layer left a symlink to a host file (content, chmod, chown, utimes, capability)', h => [
      [{name: 'f', type: 'symlink', linkname: `${h}/file`}],
      [{name: 'f', ...hostile, body: 'pwned', pax: CAPABILITY}],
    ]],
    ['a directory entry where a lower layer left a symlink to a host directory', h => [
      [{name: 'd', type: 'symlink', linkname: `${h}/dir`}],
      [{name: 'd/', type: 'directory', ...hostile}, {name: 'd/secret', body: 'pwned'}],
    ]],
    ['a symlink entry with an owner, mtime and capability (lchown, lutimes, no setfattr through it)', h => [[
      {name: 's', type: 'symlink', linkname: `${h}/file`, ...hostile, pax: CAPABILITY},
      {name: 't', type: 'symlink', linkname: `${h}/dir`, ...hostile},
    ]]],
    ['a hard link to a symlink to a host file, then a file written at the link', h => [
      [{name: 's', type: 'symlink', linkname: `${h}/file`}, {name: 'h', type: 'link', linkname: 's'}],
      [{name: 'h', ...hostile, body: 'pwned'}, {name: 's', ...hostile, body: 'pwned'}],
    ]],
    ['a hard link written where a symlink to a host file is', h => [[
      {name: 'l', type: 'symlink', linkname: `${h}/file`},
      {name: 'f', ...hostile, body: 'x'},
      {name: 'l', type: 'link', linkname: 'f'},
    ]]],
    ['a hard link whose target path passes through a directory replaced by a symlink', h => [[
      {name: 'd/', type: 'directory'},
      {name: 'd', type: 'symlink', linkname: `${h}/dir`},
      {name: 'h', type: 'link', linkname: 'd/secret'},
    ]]],
    ['a whiteout of a symlink to a host directory (removes the link, not the directory)', h => [
      [{name: 'x', type: 'symlink', linkname: `${h}/dir`}, {name: 'y', type: 'symlink', linkname: '../../../host/file'}],
      [{name: '.wh.x', body: ''}, {name: '.wh.y', body: ''}],
    ]],
    ['a whiteout inside a symlink to a host directory', h => [
      [{name: 'x', type: 'symlink', linkname: `${h}/dir`}],
      [{name: 'x/.wh.secret', body: ''}],
    ]],
    ['an opaque marker inside a symlink to a host directory', h => [
      [{name: 'x', type: 'symlink', linkname: `${h}/dir`}],
      [{name: 'x/.wh..wh..opq', body: ''}],
    ]],
    ['an opaque marker in a directory replaced by a symlink in the same layer', h => [[
      {name: 'x/', type: 'directory'},
      {name: 'x', type: 'symlink', linkname: `${h}/dir`},
      {name: 'x/.wh..wh..opq', body: ''},
    ]]],
    ['a device and a fifo through a symlinked parent', h => [[
      {name: 'x', type: 'symlink', linkname: `${h}/dir`},
      {name: 'x/null', type: 'character-device', devmajor: 1, devminor: 3},
    ], [
      {name: 'y', type: 'symlink', linkname: '../../../host/dir'},
      {name: 'y/fifo', type: 'fifo'},
    ]]],
    ['a fifo and a device where symlinks to host files are', h => [
      [{name: 'p', type: 'symlink', linkname: `${h}/file`}, {name: 'c', type: 'symlink', linkname: `${h}/dir/secret`}],
      [{name: 'p', type: 'fifo', ...hostile}, {name: 'c', type: 'character-device', devmajor: 1, devminor: 3, ...hostile}],
    ]],
    // The extractor remembers the directories it made or checked: each way of removing or replacing one must
    // make it forget them, or a/b/c is written through the link now at `a`.
    ['a directory known from a/b/, replaced by a symlink to a host directory, then a/b/c written', h => [[
      {name: 'a/', type: 'directory'},
      {name: 'a/b/', type: 'directory'},
      {name: 'a', type: 'symlink', linkname: `${h}/dir`},
      {name: 'a/b/c', ...hostile, body: 'pwned'},
      {name: 'a/b/d', type: 'symlink', linkname: `${h}/file`},
      {name: 'a/b/e/', type: 'directory', ...hostile},
    ]]],
    ['a directory known from a/b/, replaced by a hard link to a symlink to a host directory, then a/b/c written', h => [[
      {name: 's', type: 'symlink', linkname: `${h}/dir`},
      {name: 'a/b/', type: 'directory'},
      {name: 'a', type: 'link', linkname: 's'},
      {name: 'a/b/c', ...hostile, body: 'pwned'},
    ]]],
    ['a directory known from a/b/, replaced by a symlink, then hard links made at and to paths below it', h => [[
      {name: 'f', body: 'x'},
      {name: 'a/b/', type: 'directory'},
      {name: 'a', type: 'symlink', linkname: `${h}/dir`},
      {name: 'a/b/h', type: 'link', linkname: 'f'},
      {name: 'h', type: 'link', linkname: 'a/secret'},
    ]]],
    ['a directory known from a/b/, whited out and re-created as a symlink to a host directory, then a/b/c written', h => [[
      {name: 'a/b/', type: 'directory'},
      {name: '.wh.a', body: ''},
      {name: 'a', type: 'symlink', linkname: `${h}/dir`},
      {name: 'a/b/c', ...hostile, body: 'pwned'},
    ]]],
    ['a lower directory known from p/a/b/x, cleared by an opaque marker, re-created as a symlink, then p/a/b/c written', h => [
      [{name: 'p/a/b/', type: 'directory'}],
      [
        {name: 'p/a/b/x', body: 'x'},
        {name: 'p/.wh..wh..opq', body: ''},
        {name: 'p/a', type: 'symlink', linkname: `${h}/dir`},
        {name: 'p/a/b/c', ...hostile, body: 'pwned'},
      ],
    ]],
    ['a directory known from a/b/, replaced by a file and then by a symlink to a host directory, then a/b/c written', h => [[
      {name: 'a/b/', type: 'directory'},
      {name: 'a', body: 'now a file'},
      {name: 'a', type: 'symlink', linkname: `${h}/dir`},
      {name: 'a/b/c', ...hostile, body: 'pwned'},
    ]]],
  ]

  it.each(cases)('%s', async (name, layers) => {
    const base = join(dir, name.replace(/\W+/g, '-').slice(0, 60))
    const host = join(base, 'host')
    const root = join(base, 'a', 'b', 'root') // `../../../host` from an entry at the top of the root is the host dir
    await makeHost(host)
    await mkdir(root, {recursive: true})
    const before = await describeHost(host)
    for (const [i, entries] of layers(host).entries()) {
      const err = await extractLayer(Readable.from([await tarOf(entries)]), root, {label: `layer-${i}`}).then(() => null, (e: unknown) => e)
      if (err !== null) {
        expect(err).toBeInstanceOf(SlipwayError)
        expect((err as SlipwayError).kind).toBe('integrity')
        break
      }
    }
    expect(await describeHost(host)).toEqual(before)
  })

  it('writes below a directory that was whited out or replaced earlier in the layer into the new one', async () => {
    const root = join(dir, 'benign-replaced', 'root')
    await extractLayer(Readable.from([await tarOf([
      {name: 'a/b/', type: 'directory'},
      {name: 'a/b/old', body: 'old'},
      {name: '.wh.a', body: ''},
      {name: 'a/b/c', body: 'c'},
      {name: 'real/b/', type: 'directory'},
      {name: 'd/b/', type: 'directory', mode: 0o700},
      {name: 'd', type: 'symlink', linkname: 'real'},
      {name: 'd/b/e', body: 'e'},
      {name: 'd/b/', type: 'directory', mode: 0o751},
    ])]), root)
    expect(await readdir(join(root, 'a/b'))).toEqual(['c'])
    expect(await readdir(join(root, 'real/b'))).toEqual(['e'])
    expect((await lstat(join(root, 'real/b'))).mode & 0o7777).toBe(0o751)
  })

  const itAsRoot = process.getuid?.() === 0 ? it : it.skip
  itAsRoot('gives every file, symlink and directory the owner and mode of its entry, also in a set-gid directory of another group', async () => {
    const root = join(dir, 'owners', 'root')
    await mkdir(join(root, 'lower'), {recursive: true})
    await chown(join(root, 'lower'), 0, 50)
    await chmod(join(root, 'lower'), 0o2775) // a file made in it gets group 50 unless chowned
    await extractLayer(Readable.from([await tarOf([
      {name: 'lower/f', body: 'x', mode: 0o644},
      {name: 'lower/s', type: 'symlink', linkname: 'f'},
      {name: 'lower/new/', type: 'directory', mode: 0o755},
      {name: 'lower/new/g', body: 'x', mode: 0o640},
      {name: 'lower/implied/h', body: 'x', mode: 0o600},
      {name: 'plain/f', body: 'x', mode: 0o755},
      {name: 'plain/o', body: 'x', mode: 0o4755, uid: 1000, gid: 1001},
      {name: 'plain/s', type: 'symlink', linkname: 'f', uid: 1000, gid: 1001},
    ])]), root)
    const owners = async (rel: string): Promise<string> => {
      const st = await lstat(join(root, rel))
      return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`
    }
    const rels = ['lower/f', 'lower/new', 'lower/new/g', 'lower/implied/h', 'plain/f', 'plain/o']
    expect(Object.fromEntries(await Promise.all(rels.map(async r => [r, await owners(r)])))).toEqual({
      'lower/f': '0:0 644', 'lower/new': '0:0 755', 'lower/new/g': '0:0 640', 'lower/implied/h': '0:0 600', 'plain/f': '0:0 755', 'plain/o': '1000:1001 4755',
    })
    expect([(await lstat(join(root, 'lower/s'))).gid, (await lstat(join(root, 'plain/s'))).uid]).toEqual([0, 1000])
  })

  it('still applies the mode and mtime of a directory that stays a directory, also below an in-root symlink', async () => {
    const root = join(dir, 'benign-dirs', 'root')
    const when = new Date('2011-01-01T00:00:00Z')
    await extractLayer(Readable.from([await tarOf([
      {name: 'real/', type: 'directory', mode: 0o750, mtime: when},
      {name: 'link', type: 'symlink', linkname: 'real'},
      {name: 'link/sub/', type: 'directory', mode: 0o1777, mtime: when},
      {name: 'link/sub/f', body: 'x', pax: CAPABILITY},
    ])]), root)
    expect(await capabilityOf(join(root, 'real/sub/f'))).toMatch(/^security\.capability=0x0100000200200000/m)
    for (const rel of ['real', 'real/sub']) {
      const st = await lstat(join(root, rel))
      expect([st.isDirectory(), st.mtime.toISOString()]).toEqual([true, when.toISOString()])
    }
    expect((await lstat(join(root, 'real'))).mode & 0o7777).toBe(0o750)
    expect((await lstat(join(root, 'real/sub'))).mode & 0o7777).toBe(0o1777)
  })
})
