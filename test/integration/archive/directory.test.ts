import {execFile} from 'node:child_process'
import {chmod, link, lstat, mkdir, readFile, readdir, readlink, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {exportDirectory, importDirectory} from '../../../src/archive/index.js'
import {SlipwayError} from '../../../src/errors.js'
import {useTempDir} from '../../helpers/tmp.js'
import {listTar} from '../../helpers/tar.js'

const run = promisify(execFile)

const tmp = useTempDir('dir-archive', {each: true})

const T = new Date('2021-06-01T12:00:00Z')

/** A build_dir-like tree: nested dirs, an executable, a private file, a relative symlink, a hard link, an empty dir. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'cache/npm/_cacache'), {recursive: true})
  await mkdir(join(root, 'empty'), {recursive: true})
  await writeFile(join(root, 'cache/npm/_cacache/index'), 'x'.repeat(70_000))
  await writeFile(join(root, 'cache/run.sh'), '#!/bin/sh\necho hi\n')
  await chmod(join(root, 'cache/run.sh'), 0o755)
  await writeFile(join(root, 'secret'), 'token')
  await chmod(join(root, 'secret'), 0o600)
  await symlink('npm/_cacache/index', join(root, 'cache/latest'))
  await link(join(root, 'cache/run.sh'), join(root, 'cache/run-again.sh'))
  for (const p of ['cache/npm/_cacache/index', 'cache/run.sh', 'secret', 'cache/npm/_cacache', 'cache/npm', 'cache', 'empty']) await utimes(join(root, p), T, T)
}

/** Path → [kind, mode, mtime seconds, content] or [symlink, target] for every entry under root. */
async function describeTree(root: string, rel = ''): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name
    const st = await lstat(join(root, p))
    if (st.isSymbolicLink()) {
      out[p] = ['symlink', await readlink(join(root, p))]
    } else if (st.isDirectory()) {
      out[p] = ['dir', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000)]
      Object.assign(out, await describeTree(root, p))
    } else {
      out[p] = ['file', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000), await readFile(join(root, p), 'utf8')]
    }
  }
  return out
}

describe('exportDirectory / importDirectory', () => {
  it('round-trips a tree with modes, mtimes and links, deterministically', async () => {
    await makeTree(`${tmp.path}/build`)
    const result = await exportDirectory(`${tmp.path}/build`, `${tmp.path}/build.tar`)
    const data = await readFile(`${tmp.path}/build.tar`)
    expect(result).toEqual({entries: 9, bytes: data.length})
    const entries = await listTar(data)
    expect(entries.map(e => e.name)).toEqual(['cache', 'cache/latest', 'cache/npm', 'cache/npm/_cacache', 'cache/npm/_cacache/index', 'cache/run-again.sh', 'cache/run.sh', 'empty', 'secret'])
    expect(entries.every(e => e.uid === 0 && e.gid === 0)).toBe(true)
    await exportDirectory(`${tmp.path}/build`, `${tmp.path}/again.tar`)
    expect((await readFile(`${tmp.path}/again.tar`)).equals(data)).toBe(true)
    const {stdout} = await run('tar', ['-tvf', `${tmp.path}/build.tar`])
    expect(stdout).toContain('cache/latest -> npm/_cacache/index')

    const imported = await importDirectory(`${tmp.path}/build.tar`, `${tmp.path}/elsewhere/build`)
    expect(imported).toEqual({entries: 9, bytes: data.length})
    const want = await describeTree(`${tmp.path}/build`)
    expect(await describeTree(`${tmp.path}/elsewhere/build`)).toEqual(want)
    expect(want['cache/run.sh']).toEqual(['file', 0o755, T.getTime() / 1000, '#!/bin/sh\necho hi\n'])
    expect(want.secret![1]).toBe(0o600)
    expect(await readdir(`${tmp.path}/elsewhere`)).toEqual(['build'])
  })

  it('replaces an existing directory, and loads what GNU tar made', async () => {
    await makeTree(`${tmp.path}/build`)
    await mkdir(`${tmp.path}/target/stale`, {recursive: true})
    await writeFile(`${tmp.path}/target/stale/file`, 'old')
    await run('tar', ['-C', `${tmp.path}/build`, '-cf', `${tmp.path}/gnu.tar`, '.'])
    await importDirectory(`${tmp.path}/gnu.tar`, `${tmp.path}/target`)
    expect(await describeTree(`${tmp.path}/target`)).toEqual(await describeTree(`${tmp.path}/build`))
    expect((await readdir(tmp.path)).sort()).toEqual(['build', 'gnu.tar', 'target'])
  })

  it('refuses a truncated archive and leaves the old directory as it was', async () => {
    await makeTree(`${tmp.path}/build`)
    await exportDirectory(`${tmp.path}/build`, `${tmp.path}/build.tar`)
    const data = await readFile(`${tmp.path}/build.tar`)
    await mkdir(`${tmp.path}/target`)
    await writeFile(`${tmp.path}/target/keep`, 'mine')
    const big = (await listTar(data)).find(e => e.name === 'cache/npm/_cacache/index')!
    for (const at of [big.offset + 1000, big.offset - 100, 700]) {
      await writeFile(`${tmp.path}/cut.tar`, data.subarray(0, at))
      const err = await importDirectory(`${tmp.path}/cut.tar`, `${tmp.path}/target`).catch(e => e)
      expect(err).toBeInstanceOf(SlipwayError)
      expect(err.kind).toBe('integrity')
      expect(err.message).toMatch(/^cut\.tar is truncated or corrupt: /)
      expect(await describeTree(`${tmp.path}/target`)).toEqual({keep: ['file', 0o644, expect.any(Number), 'mine']})
      expect((await readdir(tmp.path)).sort()).toEqual(['build', 'build.tar', 'cut.tar', 'target'])
    }
  })
})
