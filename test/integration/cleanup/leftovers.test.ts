import {execFileSync, spawn} from 'node:child_process'
import {copyFile, mkdir, readFile, readdir, readlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {SCRATCH_PREFIX, scratchBase} from '../../../src/roots/scratch.js'
import {pushBaseImage} from '../../helpers/base-image.js'
import {runSlipway, SLIPWAY_BIN} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait.js'
import {entriesOf, Hosts} from './support.js'

/** A stage that says it started (GATE/started), then runs `wait`; GATE is a host directory of the test's. */
const gatedDappfile = (gate: string, wait: string, marker: string): string => `from: localhost:5000/base/busybox:latest
mount:
  - {fromPath: ${gate}, to: /gate}
shell:
  install: [": > /gate/started", ${JSON.stringify(wait)}, "echo ${marker} > /marker", "head -c 300000 /dev/urandom > /noise"]
`

/** `dimg cleanup` after a build killed while a slow stage ran, with another build running at the same time. */
describe('dimg cleanup', () => {
  let reg: TestRegistry
  const hosts = new Hosts(() => '')

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
  })
  afterAll(async () => {
    await reg?.stop()
    await hosts.removeAll()
  })

  it('removes what a killed build left; a build running concurrently still succeeds; the store verifies', async () => {
    const home = hosts.make()
    // builds unpack roots in a scratch area per SLIPWAY_HOME (roots/scratch.ts), here under a temp dir
    const scratchRoot = await makeTempDir('scratch')
    const tmp = scratchBase(home, {SLIPWAY_TMPDIR: scratchRoot})
    // the killed build is killed once its stage runs (sleep 5); the concurrent build's stage runs until the
    // test lets it go (GATE/go), so it is still running when cleanup looks
    const killedGate = await makeTempDir('gate')
    const killed = await makeProject({registryHost: reg.host, dappfile: gatedDappfile(killedGate, 'sleep 5', 'killed'), name: 'killed'})
    const gate = await makeTempDir('gate')
    const survivor = await makeProject({registryHost: reg.host, dappfile: gatedDappfile(gate, 'while [ ! -e /gate/go ]; do sleep 0.1; done', 'survivor'), name: 'survivor'})
    const env = {...process.env, SLIPWAY_HOME: home, SLIPWAY_TMPDIR: scratchRoot}

    const victim = spawn(process.execPath, [SLIPWAY_BIN, 'dimg', 'build', '--dir', killed.dir], {env, stdio: 'ignore'})
    const victimDir = `build-${victim.pid}-`
    const victimEnded = new Promise(r => victim.once('close', r))
    let victimDone = false
    void victimEnded.then(() => (victimDone = true))
    await waitFor('the killed build to start its stage', async () => {
      if (victimDone) throw new Error('the build to kill ended before its stage started')
      return (await entriesOf(killedGate)).includes('started')
    }, 60_000)
    // in the middle of `sleep 5`
    victim.kill('SIGKILL')
    await victimEnded
    expect((await entriesOf(tmp)).filter(n => n.startsWith(victimDir))).toHaveLength(1)

    // a build that runs while `dimg cleanup` does
    const concurrent = runSlipway(['dimg', 'build', '--dir', survivor.dir, '--json'], {env: {SLIPWAY_HOME: home, SLIPWAY_TMPDIR: scratchRoot}})
    const letGo = () => writeFile(join(gate, 'go'), '')
    try {
      let ended = false
      void concurrent.then(() => (ended = true), () => (ended = true))
      await waitFor('the concurrent build to start its stage', async () => {
        if (ended) throw new Error(`the concurrent build ended before its stage started: ${(await concurrent).stderr}`)
        return (await entriesOf(gate)).includes('started')
      }, 60_000)
      expect((await entriesOf(tmp)).filter(n => n.startsWith('build-') && !n.startsWith(victimDir))).toHaveLength(1)

      const dry = await hosts.json(home, ['dimg', 'cleanup', '--dry-run'], {SLIPWAY_TMPDIR: scratchRoot})
      expect(dry.buildDirs.map((d: string) => d.slice(tmp.length + 1))).toEqual([expect.stringMatching(new RegExp(`^${victimDir}`))])
      expect((await entriesOf(tmp)).filter(n => n.startsWith(victimDir))).toHaveLength(1)

      const cleaned = await hosts.json(home, ['dimg', 'cleanup'], {SLIPWAY_TMPDIR: scratchRoot})
      expect(cleaned.buildDirs).toEqual(dry.buildDirs)
      const left = await entriesOf(tmp)
      expect(left.filter(n => n.startsWith(victimDir))).toEqual([])
      // the running build's directory is still there
      expect(left.filter(n => n.startsWith('build-'))).toHaveLength(1)
    } finally {
      await letGo()
    }

    const build = await concurrent
    expect(build.code).toBe(0)
    expect(JSON.parse(build.stdout).built).toBe(2) // from and install
    const verify = await hosts.json(home, ['store', 'verify'])
    expect(verify.ok).toBe(true)
    expect(verify.missing).toEqual([])
    expect(verify.corrupt).toEqual([])
    expect((await entriesOf(tmp)).filter(n => n.startsWith('build-'))).toEqual([])

    // the killed project builds from scratch afterwards (nothing half-done was cached)
    const rerun = await runSlipway(['dimg', 'build', '--dir', killed.dir, '--json'], {env: {SLIPWAY_HOME: home, SLIPWAY_TMPDIR: scratchRoot}})
    expect(rerun.code).toBe(0)
    expect(JSON.parse(rerun.stdout).built).toBe(2)
    expect((await hosts.run(home, ['dimg', 'cleanup'], {SLIPWAY_TMPDIR: scratchRoot})).stdout).toMatch(/^removed 0 build directories/)
  }, 180_000)

  // Rooted in the chroot stage of a build that crashed: `dimg cleanup` must end them and unmount before it deletes.
  ;(process.getuid?.() === 0 ? it : it.skip)('ends processes and removes mounts an older crash left in a build directory', async () => {
    const home = hosts.make()
    const scratchRoot = await makeTempDir('scratch')
    const base = scratchBase(home, {SLIPWAY_TMPDIR: scratchRoot})
    const deadPid = Number(execFileSync('/bin/sh', ['-c', 'echo $$'], {encoding: 'utf8'})) // exited
    const dir = join(base, `${SCRATCH_PREFIX}${deadPid}-build-crash`)
    const root = join(dir, 'root')
    for (const d of ['bin', 'proc', 'tmp', 'mnt/host']) await mkdir(join(root, d), {recursive: true})
    await copyFile('/bin/busybox', join(root, 'bin/busybox'))
    const host = join(scratchRoot, 'host-data') // a host directory bound into the root: must survive
    await mkdir(host)
    await writeFile(join(host, 'keep'), 'host file')
    const mountAt = async (args: string[]): Promise<void> => void execFileSync('mount', args)
    await mountAt(['-t', 'tmpfs', 'tmpfs', join(root, 'tmp')])
    await mountAt(['--bind', '/proc', join(root, 'proc')])
    await mountAt(['--bind', host, join(root, 'mnt/host')])
    const sleeper = spawn('chroot', [root, '/bin/busybox', 'sleep', '1000'], {stdio: 'ignore', detached: true})
    sleeper.unref()
    const daemon = spawn('chroot', [root, '/bin/busybox', 'sh', '-c', '/bin/busybox setsid /bin/busybox sleep 1000 & /bin/busybox sleep 1000'], {stdio: 'ignore', detached: true})
    daemon.unref()
    const rootedIn = async (): Promise<number[]> => {
      const pids: number[] = []
      for (const name of (await readdir('/proc')).filter(n => /^\d+$/.test(n))) {
        const r = await readlink(`/proc/${name}/root`).catch(() => '')
        if (r === root || r.startsWith(`${root}/`)) pids.push(Number(name))
      }
      return pids
    }
    const mountsUnder = async (): Promise<string[]> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map(l => l.split(' ')[4] ?? '').filter(p => p.startsWith(`${base}/`))
    try {
      await waitFor('the crashed stage\'s processes', async () => (await rootedIn()).length >= 2, 20_000)
      expect(await mountsUnder()).toHaveLength(3)

      const cleaned = await hosts.json(home, ['dimg', 'cleanup'], {SLIPWAY_TMPDIR: scratchRoot})
      expect(cleaned.buildDirs).toEqual([dir])
      expect(await rootedIn()).toEqual([])
      expect(await mountsUnder()).toEqual([])
      expect(await entriesOf(base)).toEqual([])
      expect(await readFile(join(host, 'keep'), 'utf8')).toBe('host file')
    } finally {
      // when cleanup failed: nothing may stay mounted under the temp dir its sweeper deletes
      for (const pid of await rootedIn()) process.kill(pid, 'SIGKILL')
      for (const point of (await mountsUnder()).reverse()) execFileSync('umount', ['-l', point])
    }
  })
})
