/**
 * A full disk during a build, on a real small filesystem (an 8 MiB tmpfs, so root only): on the scratch side
 * (SLIPWAY_TMPDIR, where roots are unpacked and stages write) and on the store side (SLIPWAY_HOME, where
 * layers are written). Either is exit 10 with one line naming the path, nothing is left half-written, and the
 * store verifies. Roots are copied ones here (SLIPWAY_OVERLAY=0); an overlay root's writes land among the
 * kept roots in SLIPWAY_HOME, whose own case is the last.
 */
import {execFile} from 'node:child_process'
import {mkdir, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {expectClearError, verifyHome} from '../reliability/support.js'
import {buildEnv, runBuild} from './support.js'

const run = promisify(execFile)
const rootDescribe = process.getuid?.() === 0 ? describe : describe.skip

/** The busybox base and one shell stage running `install` (and `setupCommand` in a setup stage after it). */
const dappfile = (install: string, setupCommand?: string): string =>
  `from: localhost:5000/base/busybox:latest\nshell:\n  install: [${JSON.stringify(install)}]\n${setupCommand ? `  setup: [${JSON.stringify(setupCommand)}]\n` : ''}`

const entries = (dir: string): Promise<string[]> => readdir(dir).catch(() => [] as string[])

rootDescribe('dimg build on a full disk', () => {
  const setup = useRegistry({base: true})
  const mounts: string[] = []

  /** A fresh 8 MiB tmpfs. */
  async function smallFilesystem(): Promise<string> {
    const dir = await makeTempDir('small-fs')
    mounts.push(dir)
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', dir])
    return dir
  }

  /** SLIPWAY_HOME on a small filesystem, SLIPWAY_TMPDIR on a big one. */
  async function smallHome(): Promise<{home: string; tmpdir: string}> {
    const home = join(await smallFilesystem(), 'home')
    await mkdir(home)
    const tmpdir = await makeTempDir('full-disk-tmpdir')
    setup.removeAfter(tmpdir)
    return {home, tmpdir}
  }

  afterAll(async () => {
    for (const m of mounts) {
      await run('umount', [m]).catch(() => {})
      await removeTempDir(m)
    }
  })

  it('the scratch side (SLIPWAY_TMPDIR) fills up while a stage writes: exit 10, one line, nothing left there', async () => {
    const tmpdir = await smallFilesystem()
    const home = setup.freshHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('dd if=/dev/zero of=/big bs=1M count=20')})
    const r = await runBuild(project.dir, {...buildEnv(setup.reg, home), SLIPWAY_TMPDIR: tmpdir, SLIPWAY_OVERLAY: '0'})
    const line = expectClearError(r, 10)
    // the stage's own command failed (dd: No space left on device): its output says so, the line says why
    expect(r.stderr).toMatch(/dd: .*No space left on device/)
    expect(line).toMatch(/^slipway: app: stage install failed: no space left on device in /)
    expect(line).toContain(tmpdir)
    expect(line).toMatch(/free disk space/)
    expect(await entries(tmpdir)).toEqual([])
    expect((await verifyHome(home)).ok).toBe(true)
  })

  it('the scratch side fills up while a layer is unpacked: exit 10 naming the directory', async () => {
    const tmpdir = await smallFilesystem()
    const home = setup.freshHome()
    // a stage image bigger than the scratch filesystem, built elsewhere, then unpacked there for the next stage
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('head -c 12000000 /dev/urandom > /big')})
    const first = await runBuild(project.dir, {...buildEnv(setup.reg, home), SLIPWAY_OVERLAY: '0'})
    expect(first.code).toBe(0)
    await project.commit('setup', {'dappfile.yaml': dappfile('head -c 12000000 /dev/urandom > /big', 'echo more > /more')})
    const r = await runBuild(project.dir, {...buildEnv(setup.reg, home), SLIPWAY_TMPDIR: tmpdir, SLIPWAY_OVERLAY: '0'})
    const line = expectClearError(r, 10)
    expect(line).toMatch(/no space left on device/i)
    expect(line).toContain(tmpdir)
    expect(line).toMatch(/free disk space/)
    expect(await entries(tmpdir)).toEqual([])
    expect((await verifyHome(home)).ok).toBe(true)
  })

  it('the store side (SLIPWAY_HOME) fills up while a layer is written: exit 10, one line, no temp blob, the store verifies', async () => {
    const {home, tmpdir} = await smallHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('head -c 20000000 /dev/urandom > /big')})
    const r = await runBuild(project.dir, {...buildEnv(setup.reg, home), SLIPWAY_TMPDIR: tmpdir, SLIPWAY_OVERLAY: '0'})
    const line = expectClearError(r, 10)
    expect(line).toBe(`slipway: no space left on device for the store ${join(home, 'store')}: free disk space (or set SLIPWAY_HOME to a bigger filesystem) and run again`)
    expect(await entries(join(home, 'store', 'tmp'))).toEqual([])
    expect(await entries(join(home, 'store', 'leases'))).toEqual([])
    expect(await entries(tmpdir)).toEqual([])
    const verify = await verifyHome(home)
    expect({ok: verify.ok, missing: verify.missing, corrupt: verify.corrupt}).toEqual({ok: true, missing: [], corrupt: []})
  })

  it('an overlay root fills the kept roots filesystem (SLIPWAY_HOME) while a stage writes: exit 10 naming it, no half-made kept root', async () => {
    const {home, tmpdir} = await smallHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('dd if=/dev/zero of=/big bs=1M count=20')})
    const r = await runBuild(project.dir, {...buildEnv(setup.reg, home), SLIPWAY_TMPDIR: tmpdir})
    const line = expectClearError(r, 10)
    expect(r.stderr).toMatch(/dd: .*No space left on device/)
    expect(line).toBe(`slipway: app: stage install failed: no space left on device in ${join(home, 'roots')} (a command exited with code 1): free disk space (or set SLIPWAY_HOME to a bigger filesystem) and run again; nothing was added to the stages cache`)
    expect(await entries(join(home, 'roots', 'tmp'))).toEqual([])
    expect(await entries(tmpdir)).toEqual([])
    expect((await verifyHome(home)).ok).toBe(true)
  })
})
