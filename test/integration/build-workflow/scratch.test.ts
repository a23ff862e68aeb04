/**
 * The scratch area (roots/scratch.ts) has a name any local user can compute: whatever is planted under
 * it is refused with one line, nothing is done through it, and a run leaves no directory behind.
 */
import {chmod, chown, lstat, mkdir, readdir, stat, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {scratchBase} from '../../../src/roots/scratch.js'
import {runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {expectClearError} from '../reliability/support.js'
import {buildEnv, runBuild} from './support.js'

const isRoot = process.getuid?.() === 0
const rootIt = isRoot ? it : it.skip

const dappfile = (install: string): string => `from: localhost:5000/base/busybox:latest
shell:
  install: [${JSON.stringify(install)}]
`

describe('scratch space belongs to its user', () => {
  const setup = useRegistry({base: true, project: {dappfile: dappfile('echo built > /built')}})
  let tmpdir: string
  let base: string
  const env = (): Record<string, string> => ({...buildEnv(setup.reg, setup.home), SLIPWAY_TMPDIR: tmpdir})

  beforeEach(async () => {
    tmpdir = await makeTempDir('tmpdir')
    base = scratchBase(setup.home, {SLIPWAY_TMPDIR: tmpdir})
  })
  afterEach(async () => {
    await removeTempDir(tmpdir)
  })

  async function expectRefused(what: RegExp): Promise<void> {
    const r = await runBuild(setup.project.dir, env())
    const line = expectClearError(r, 10)
    expect(line).toContain(`scratch directory ${base}`)
    expect(line).toMatch(what)
    expect(line).toMatch(/remove it .*or set SLIPWAY_TMPDIR/)
    // and `dimg cleanup` removes nothing through it either
    const cleanup = await runSlipway(['dimg', 'cleanup'], {env: env()})
    expect(expectClearError(cleanup, 10)).toContain(`scratch directory ${base}`)
  }

  it('a symlink planted under its name (to a directory the attacker chose): refused, the target untouched', async () => {
    const target = join(tmpdir, 'chosen-by-attacker')
    await mkdir(target, {mode: 0o755})
    await writeFile(join(target, `build-1-build-planted`), 'kept')
    const past = new Date('2020-01-02T03:04:05Z')
    await utimes(target, past, past)
    const before = await stat(target)
    await symlink(target, base)

    await expectRefused(/is a symbolic link/)

    const after = await stat(target)
    expect((after.mode & 0o7777).toString(8)).toBe((before.mode & 0o7777).toString(8))
    expect(after.mtimeMs).toBe(before.mtimeMs)
    expect(await readdir(target)).toEqual(['build-1-build-planted'])
    expect((await lstat(base)).isSymbolicLink()).toBe(true)
  })

  rootIt("another user's directory planted under its name (uid 4242): refused, nothing built inside", async () => {
    await mkdir(base, {mode: 0o711})
    await chown(base, 4242, 4242)
    await expectRefused(/is owned by uid 4242/)
    expect(await readdir(base)).toEqual([])
    expect((await stat(base)).uid).toBe(4242)
  })

  it('a group-writable directory under its name: refused, its mode left alone', async () => {
    await mkdir(base)
    await chmod(base, 0o775)
    await expectRefused(/writable by group or others \(mode 0775\)/)
    expect(((await stat(base)).mode & 0o7777).toString(8)).toBe('775')
    expect(await readdir(base)).toEqual([])
  })

  it('a file planted under its name: refused', async () => {
    await writeFile(base, 'not a directory')
    await expectRefused(/is not a directory/)
  })

  it('SLIPWAY_TMPDIR naming a file or a missing path: one line, exit 2 (usage)', async () => {
    const file = join(tmpdir, 'a-file')
    await writeFile(file, 'x')
    const onFile = await runBuild(setup.project.dir, {...env(), SLIPWAY_TMPDIR: file})
    expect(expectClearError(onFile, 2)).toBe(`slipway: SLIPWAY_TMPDIR=${file} is not a directory: point SLIPWAY_TMPDIR at an existing directory, or unset it to use the system temp directory`)
    const missing = join(tmpdir, 'missing')
    const onMissing = await runBuild(setup.project.dir, {...env(), SLIPWAY_TMPDIR: missing})
    expect(expectClearError(onMissing, 2)).toMatch(new RegExp(`^slipway: SLIPWAY_TMPDIR=${missing} does not exist: `))
    await expect(stat(missing)).rejects.toThrow(/ENOENT/)
  })

  it('after a successful build and after a failed one, no slipway-* directory is left in SLIPWAY_TMPDIR', async () => {
    const ok = await runBuild(setup.project.dir, env())
    expect(ok.code).toBe(0)
    expect(await readdir(tmpdir)).toEqual([])

    const failing = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('exit 3')})
    const failed = await runBuild(failing.dir, env())
    expect(failed.code).toBe(9)
    expect(await readdir(tmpdir)).toEqual([])

    // an area left by an older version (ours, 0711, empty) is used and removed as well
    await mkdir(base, {mode: 0o711})
    await setup.project.commit('rebuild', {'dappfile.yaml': dappfile('echo again > /built')})
    expect((await runBuild(setup.project.dir, env())).code).toBe(0)
    expect(await readdir(tmpdir)).toEqual([])
  })

  it('two builds of one home at once both succeed and leave nothing', async () => {
    const a = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('sleep 1; echo a > /a'), name: 'a'})
    const b = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('echo b > /b'), name: 'b'})
    const [ra, rb] = await Promise.all([runBuild(a.dir, env()), runBuild(b.dir, env())])
    expect([ra.code, rb.code, ra.stderr, rb.stderr]).toEqual([0, 0, '', ''])
    expect(await readdir(tmpdir)).toEqual([])
  })
})
