/**
 * Kept stage roots (overlay, as root): a stage rebuilt on a kept root writes the same layer as on a root
 * unpacked afresh and as the copied-root fallback (SLIPWAY_OVERLAY=0); kept roots are reused across builds
 * and dimgs, never used when they stand for other layers or were half made, shared by concurrent builds,
 * evicted by budget, and removed by `dimg cleanup` / `store gc` once their stages are gone.
 */
import {existsSync} from 'node:fs'
import {readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {basename, join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway, startSlipway} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {unpackImage} from '../../helpers/run-image.js'
import {scratchBase} from '../../../src/roots/scratch.js'
import {build, buildEnv, type BuildReport, finalStageName, manifestOf} from './support.js'

const asRoot = process.getuid?.() === 0
const describeAsRoot = asRoot ? describe : describe.skip

/** beforeInstall lays out a tree; install changes it in every way a layer can tell. */
const BEFORE_INSTALL = `  beforeInstall:
    - mkdir -p /t/dir/sub /t/gone/deep /t/replaced
    - echo a > /t/mod && echo b > /t/keep && echo c > /t/chmod && echo d > /t/touched && echo same > /t/opened
    - echo e > /t/gone/deep/f && echo f > /t/replaced/g && echo h > /t/del && echo deep > /t/dir/sub/deep
`

const dappfile = (opts: {installNote?: string; app2?: boolean} = {}): string => `
dimg: app
from: localhost:5000/base/busybox:latest
shell:
${BEFORE_INSTALL}  install:
    - echo changed > /t/mod
    - echo new > /t/dir/new
    - echo deeper > /t/dir/sub/deep
    - chmod 600 /t/chmod
    - rm /t/del
    - rm -rf /t/gone
    - rm -rf /t/replaced && echo now-a-file > /t/replaced
    - rm /t/keep && mkdir /t/keep && echo k > /t/keep/k
    - touch /t/touched
    - ': >> /t/opened'
    - echo '${opts.installNote ?? 'v1'}' > /dev/null
${opts.app2 ? `---
dimg: other
from: localhost:5000/base/busybox:latest
shell:
${BEFORE_INSTALL}  install:
    - echo other > /t/other
` : ''}`

interface Entry {
  key: string
  chain: string[]
  kind: string
  ino: number
}

async function keptEntries(home: string): Promise<Entry[]> {
  const dir = join(home, 'roots', 'entries')
  const keys = existsSync(dir) ? await readdir(dir) : []
  return Promise.all(
    keys.map(async key => {
      const meta = JSON.parse(await readFile(join(dir, key, 'meta.json'), 'utf8')) as Entry
      return {...meta, ino: (await stat(join(dir, key, 'files'))).ino}
    }),
  )
}

async function layersOf(home: string, report: BuildReport, dimg = 'app'): Promise<string[]> {
  return (await manifestOf(home, finalStageName(report, dimg))).layers.map(l => l.digest)
}

/** Overlay mounts in the scratch area of this home. */
async function overlayMounts(home: string): Promise<string[]> {
  const scratch = `${scratchBase(home)}/`
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(l => / - overlay overlay /.test(l) && l.split(' ')[4]!.startsWith(scratch))
}

describeAsRoot('kept stage roots on overlay', () => {
  let reg: TestRegistry
  let project: TestProject
  const homes = freshHomes()
  let v1: Record<string, string[]> // install layers (the final image's) per way of building
  const env = (home: string, extra: Record<string, string> = {}): Record<string, string> => ({...buildEnv(reg, home), ...extra})

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, dappfile: dappfile()})
    v1 = {}
  })
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
  })

  it('a stage rebuilt on a reused kept root writes the layer a fresh root and the copy fallback write', async () => {
    const kept = homes.home()
    const copied = homes.home()
    const fresh = homes.home()
    const first = await build(project.dir, env(kept))
    v1.overlay = await layersOf(kept, first)
    const base = (await keptEntries(kept)).filter(e => e.kind === 'base')
    expect(base).toHaveLength(1)
    v1.copy = await layersOf(copied, await build(project.dir, env(copied, {SLIPWAY_OVERLAY: '0'})))
    // copied roots keep only bases (the first root a build needs), copied from then on
    const copiedBase = await keptEntries(copied)
    expect(copiedBase.map(e => e.kind)).toEqual(['base'])
    expect(v1.overlay).toEqual(v1.copy)
    await build(project.dir, env(fresh))
    await rm(join(fresh, 'roots'), {recursive: true})

    // a changed install stage, a later commit (so a later mtime clamp): built on the kept beforeInstall root
    await project.commit('install v2', {'dappfile.yaml': dappfile({installNote: 'v2'})})
    const again = await build(project.dir, env(kept))
    expect(again.dimgs[0]!.stages.filter(s => s.status === 'built').map(s => s.name)).toEqual(['install'])
    const reused = await layersOf(kept, again)
    // the base was not unpacked again: the same base entry, the same directory
    expect((await keptEntries(kept)).filter(e => e.kind === 'base')).toEqual(base)
    // the same stage on a root unpacked afresh from the same layers, and on a copied root
    const onFresh = await layersOf(fresh, await build(project.dir, env(fresh)))
    const onCopy = await layersOf(copied, await build(project.dir, env(copied, {SLIPWAY_OVERLAY: '0'})))
    expect(reused.slice(0, 2)).toEqual(v1.overlay!.slice(0, 2))
    expect(reused).toEqual(onFresh)
    expect(reused).toEqual(onCopy)
    expect(await keptEntries(copied)).toEqual(copiedBase)
    expect(reused[2]).not.toBe(v1.overlay![2]) // the clamp moved: touched and changed files have other mtimes
    expect(await overlayMounts(kept)).toEqual([])
  })

  it('chroot isolation builds on kept roots with the same layers', async () => {
    const home = homes.home()
    const copy = homes.home()
    const report = await build(project.dir, env(home), ['--isolation', 'chroot'])
    expect((await keptEntries(home)).length).toBeGreaterThan(1)
    expect(await layersOf(home, report)).toEqual(await layersOf(copy, await build(project.dir, env(copy, {SLIPWAY_OVERLAY: '0'}), ['--isolation', 'chroot'])))
  })

  it('never uses a kept root that is damaged or half made, and is reused across dimgs', async () => {
    const home = homes.home()
    await project.commit('two dimgs', {'dappfile.yaml': dappfile({installNote: 'v3', app2: true})})
    const copy = homes.home()
    const first = await build(project.dir, env(home))
    await build(project.dir, env(copy, {SLIPWAY_OVERLAY: '0'})) // the same beforeInstall layers under v4's install
    const entries = await keptEntries(home)
    // one base for both dimgs: the second found the first's (or both raced and one was dropped)
    expect(entries.filter(e => e.kind === 'base')).toHaveLength(1)
    const beforeInstall = entries.find(e => e.kind === 'upper' && e.chain.length === 2)!
    // damage it (its meta goes) and plant a half-made root in tmp/ as a killed build would
    await rm(join(home, 'roots', 'entries', beforeInstall.key, 'meta.json'))
    await writeFile(join(home, 'roots', 'tmp', '999999-planted'), '')
    await project.commit('install v4', {'dappfile.yaml': dappfile({installNote: 'v4', app2: true})})
    const again = await build(project.dir, env(home))
    const onCopy = await build(project.dir, env(copy, {SLIPWAY_OVERLAY: '0'}))
    expect(await layersOf(home, again)).toEqual(await layersOf(copy, onCopy))
    expect(await layersOf(home, again, 'other')).toEqual(await layersOf(home, first, 'other'))
    // the damaged entry was made anew (the chain is the same, the files directory is not)
    const remade = (await keptEntries(home)).find(e => e.key === beforeInstall.key)
    expect(remade?.ino).not.toBe(beforeInstall.ino)
  })

  it('a kept root of another layer for the same stage is not used: REPO holds another host\'s beforeInstall', async () => {
    const random = (note: string): string => `dimg: app
from: localhost:5000/base/busybox:latest
shell:
  beforeInstall:
    - mkdir /t && head -c 16 /dev/urandom | od -x > /t/rand
  install:
    - cat /t/rand > /t/copy
    - echo '${note}' > /dev/null
`
    const rnd = await makeProject({registryHost: reg.host, dappfile: random('v1')})
    const repo = `${reg.host}/first-writer`
    const first = homes.home()
    await build(rnd.dir, env(first))
    expect((await runSlipway(['dimg', 'stages', 'push', repo, '--dir', rnd.dir], {env: env(first)})).code).toBe(0)
    for (const overlay of ['1', '0']) {
      // this host made its own beforeInstall (other random bytes, so another layer) and keeps its root
      const host = homes.home()
      const mode = {SLIPWAY_OVERLAY: overlay}
      await build(rnd.dir, env(host, mode))
      expect((await runSlipway(['dimg', 'stages', 'flush', 'local', '--dir', rnd.dir], {env: env(host, mode)})).code).toBe(0)
      await rnd.commit(`install ${overlay}`, {'dappfile.yaml': random(`v2-${overlay}`)})
      const report = await build(rnd.dir, env(host, mode), ['--repo', repo])
      expect(report.dimgs[0]!.stages.map(s => s.status)).toEqual(['cached-remote', 'cached-remote', 'built'])
      const image = await unpackImage(join(host, 'store'), finalStageName(report, 'app'))
      try {
        // install ran on REPO's beforeInstall layer, not on this host's kept root of its own
        expect(await readFile(join(image.rootfs, 't/copy'), 'utf8')).toBe(await readFile(join(image.rootfs, 't/rand'), 'utf8'))
      } finally {
        await image.remove()
      }
    }
  })

  it('two builds at once share the kept stack', async () => {
    const home = homes.home()
    await project.commit('install v5', {'dappfile.yaml': dappfile({installNote: 'v5'})})
    await build(project.dir, env(home))
    const other = await makeProject({registryHost: reg.host, dappfile: dappfile({installNote: 'v6'})})
    const [a, b] = await Promise.all([build(project.dir, env(home)), build(other.dir, env(home))])
    expect(a.built).toBe(0)
    expect(b.dimgs[0]!.stages.find(s => s.name === 'install')?.status).toBe('built')
    const copy = homes.home()
    await build(project.dir, env(copy, {SLIPWAY_OVERLAY: '0'})) // the same beforeInstall layer under other's install
    expect(await layersOf(home, b)).toEqual(await layersOf(copy, await build(other.dir, env(copy, {SLIPWAY_OVERLAY: '0'}))))
    expect((await keptEntries(home)).filter(e => e.kind === 'base')).toHaveLength(1)
  })

  it('evicts kept roots beyond the budget at the end of a build', async () => {
    const home = homes.home()
    await build(project.dir, env(home, {SLIPWAY_KEPT_ROOTS_MIB: '0'}))
    expect(await keptEntries(home)).toEqual([])
  })

  it('a killed build leaves no kept root, its mount goes with the next build; dimg cleanup and store gc remove stale roots', async () => {
    const home = homes.home()
    const slow = await makeProject({registryHost: reg.host, dappfile: dappfile({installNote: "v7' && sleep 60 && echo '"})})
    await build(project.dir, env(home))
    const before = await keptEntries(home)
    const running = startSlipway(['dimg', 'build', '--dir', slow.dir], {env: env(home)})
    // the overlay probe mounts and unmounts a directory of its own first: wait for the install's root
    const stageRootMounts = async (): Promise<string[]> => (await overlayMounts(home)).filter(l => !basename(l.split(' ')[4]!).startsWith('probe-'))
    for (let i = 0; i < 300 && (await stageRootMounts()).length === 0; i++) await new Promise(r => setTimeout(r, 100))
    expect(await overlayMounts(home)).toHaveLength(1) // the sleeping install's root
    running.child.kill('SIGKILL')
    await running.result
    expect((await keptEntries(home)).map(e => e.key).sort()).toEqual(before.map(e => e.key).sort())
    // its overlay stays mounted over kept roots until the next build (or dimg cleanup) takes it down
    expect(await overlayMounts(home)).toHaveLength(1)
    const next = await makeProject({registryHost: reg.host, dappfile: dappfile({installNote: 'v8'})})
    await build(next.dir, env(home))
    expect(await overlayMounts(home)).toEqual([])

    const cleanup = await runSlipway(['dimg', 'cleanup', '--json'], {env: env(home)})
    expect(cleanup.code).toBe(0)
    expect(await overlayMounts(home)).toEqual([])
    expect(await readdir(join(home, 'roots', 'tmp'))).toEqual([])

    // the stages go: their kept roots are stale; the base image's stays while the base image is there
    expect((await runSlipway(['dimg', 'stages', 'flush', 'local', '--dir', project.dir], {env: env(home)})).code).toBe(0)
    const kept = await keptEntries(home)
    const gc = await runSlipway(['store', 'gc', '--json', '--min-age', '0'], {env: env(home)})
    expect(gc.code).toBe(0)
    expect((JSON.parse(gc.stdout) as {keptRoots: string[]}).keptRoots.length).toBe(kept.length - 1)
    expect((await keptEntries(home)).map(e => e.kind)).toEqual(['base'])
  })
})
