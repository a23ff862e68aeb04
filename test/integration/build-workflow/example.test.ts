/** The example project (fixtures/example) built with the CLI against a real registry, and run. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHome} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {runImage, unpackImage} from '../../helpers/run-image.js'
import {removeTempDir} from '../../helpers/tmp.js'
import {build, buildEnv, builtStages, type BuildReport, dimgReport, finalStageName, layerEntries, manifestOf, storeDir, storeRefs} from './support.js'

const WORKER_LINE = 'worker example: 1 files in /app, running as root\n'

describe('dimg build: the example project', () => {
  let reg: TestRegistry
  let project: TestProject
  const homes: string[] = []
  let home: string
  let first: BuildReport

  const historyFile = (): string => join(home, 'build', project.name, 'web', 'var__cache__example', 'history')

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, fromExample: true, name: 'example'})
    home = freshHome()
    homes.push(home)
    first = await build(project.dir, buildEnv(reg, home))
  })
  afterAll(async () => {
    await reg?.stop()
    for (const h of homes) await removeTempDir(h)
  })

  it('builds the artifact and both dimgs; the worker runs and prints its line', async () => {
    expect(first.project).toBe('example')
    expect(first.dimgs.map(d => [d.listedAs, d.isArtifact])).toEqual([
      ['assets', true],
      ['web', false],
      ['worker', false],
    ])
    expect(dimgReport(first, 'web').stages.map(s => s.name)).toEqual(['from', 'beforeInstall', 'gitArchive', 'install', 'importsAfterInstall', 'setup', 'docker'])
    // the three share their `from` stage: built once in the run, whichever dimg got there first
    const all = first.dimgs.flatMap(d => d.stages)
    expect(all).toHaveLength(14)
    expect(first.built).toBe(new Set(all.map(s => s.signature)).size)
    expect(first.built + first.cached).toBe(14)
    expect(await runImage(storeDir(home), finalStageName(first, 'worker'))).toBe(WORKER_LINE)
  })

  it('the web image serves index.html with the version substituted, as user www', async () => {
    const web = await unpackImage(storeDir(home), finalStageName(first, 'web'))
    try {
      const html = await readFile(join(web.rootfs, 'var/www/index.html'), 'utf8')
      expect(html).toContain('<h1>Built by Slipway 1.0.0</h1>')
      expect(html).not.toContain('@VERSION@')
      expect(web.process.user).toEqual({uid: 1000, gid: 1000})
      expect(web.process.cwd).toBe('/var/www')
      const out = await web.run(['/bin/sh', '-c', 'id -un; pwd; echo "$GREETING"; cat /etc/httpd.conf | head -1'])
      expect(out.stdout).toBe('www\n/var/www\nhello from slipway\n# busybox httpd configuration\n')
    } finally {
      await web.remove()
    }
    // setup's `chown -R www:www /app` is in its layer as owner ids (umoci --rootless drops them on disk)
    const manifest = await manifestOf(home, finalStageName(first, 'web'))
    const setup = manifest.layers[5]
    const owned = (await layerEntries(home, setup.digest)).filter(e => e.name.startsWith('app/'))
    expect(owned.map(e => e.name).sort()).toEqual(['app/', 'app/httpd.conf'])
    for (const e of owned) expect([e.uid, e.gid]).toEqual([1000, 1000])
  })

  it('gives identical layer digests when built in a fresh SLIPWAY_HOME', async () => {
    const other = freshHome()
    homes.push(other)
    const second = await build(project.dir, buildEnv(reg, other))
    for (const dimg of ['assets', 'web', 'worker']) {
      expect(dimgReport(second, dimg).signature).toBe(dimgReport(first, dimg).signature)
      const a = await manifestOf(home, finalStageName(first, dimg))
      const b = await manifestOf(other, finalStageName(second, dimg))
      expect(b.layers.map(l => l.digest)).toEqual(a.layers.map(l => l.digest))
      expect(a.layers.length).toBeGreaterThan(1)
    }
  })

  it('keeps the build_dir mount across builds: a rebuilt install stage appends to the same history', async () => {
    const before = (await readFile(historyFile(), 'utf8')).trim().split('\n')
    expect(before).toHaveLength(1)
    expect(before[0]).toMatch(/^installed at build \d+$/)
    await project.commit('tune httpd', {'server/httpd.conf': '# busybox httpd configuration\n.html:text/html\n.css:text/css\n.txt:text/plain\n'})
    const report = await build(project.dir, buildEnv(reg, home))
    expect(builtStages(report, 'web')).toEqual(['install', 'importsAfterInstall', 'setup', 'docker'])
    expect(builtStages(report, 'assets')).toEqual([])
    expect(builtStages(report, 'worker')).toEqual([])
    const after = (await readFile(historyFile(), 'utf8')).trim().split('\n')
    expect(after).toHaveLength(2)
    expect(after[0]).toBe(before[0])
    // the mount's content is not part of the image
    const web = await unpackImage(storeDir(home), finalStageName(report, 'web'))
    try {
      expect((await web.run(['/bin/sh', '-c', 'ls -A /var/cache/example 2>/dev/null | wc -l; tail -1 /etc/httpd.conf'])).stdout).toBe('0\n.txt:text/plain\n')
    } finally {
      await web.remove()
    }
  })

  it('--dev counts uncommitted changes and keeps its stages in a cache of their own', async () => {
    const devHome = freshHome()
    homes.push(devHome)
    const env = buildEnv(reg, devHome)
    const normal = await build(project.dir, env)
    const normalRefs = await storeRefs(devHome)

    await project.write({'worker/worker.sh': {content: '#!/bin/sh\necho "uncommitted worker"\n', mode: 0o755}})
    const dev = await build(project.dir, env, ['--dev'])
    expect(dev.dev).toBe(true)
    // nothing of the normal cache is reused: every dev stage is built and tagged under -dev
    expect(dev.dimgs.flatMap(d => d.stages.filter(s => s.name !== 'from' && s.status !== 'built'))).toEqual([])
    // one from stage per distinct base: assets' and worker's are one, web's signs its mount
    expect(dev.dimgs.filter(d => builtStages(dev, d.listedAs).includes('from'))).toHaveLength(2)
    const refs = await storeRefs(devHome)
    const added = refs.filter(r => !normalRefs.includes(r))
    expect(added).toEqual([...new Set(dev.dimgs.flatMap(d => d.stages.map(s => `dimgstage-example-dev:${s.signature}`)))].sort())
    expect(normalRefs.filter(r => r.includes('-dev:'))).toEqual([])
    expect(await runImage(storeDir(devHome), finalStageName(dev, 'worker'))).toBe('uncommitted worker\n')

    // the normal cache ignores the uncommitted change and has not changed
    const again = await build(project.dir, env)
    expect(again.built).toBe(0)
    expect(dimgReport(again, 'worker').signature).toBe(dimgReport(normal, 'worker').signature)
    expect(await runImage(storeDir(devHome), finalStageName(again, 'worker'))).toBe(WORKER_LINE)
    expect((await storeRefs(devHome)).filter(r => !r.includes('-dev:'))).toEqual(normalRefs)

    // a second dev build with the same work tree reuses the dev cache
    const devAgain = await build(project.dir, env, ['--dev'])
    expect(devAgain.built).toBe(0)
  })
})
