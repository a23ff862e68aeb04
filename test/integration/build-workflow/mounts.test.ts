/** Issue 17: mounts as dapp and werf define them (fromPath, tmp_dir, build_dir), and in the from stage's signature. */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {basename, join} from 'node:path'

import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {build, buildEnv, builtStages, finalStageName, runBuild, storeDir, storeRefs} from './support.js'

describe('dimg build: mounts', () => {
  const setup = useRegistry({base: true})

  it('bind-mounts fromPath (absolute, and relative to the project) read-write into shell stages, and leaves it out of the layers', async () => {
    const host = await makeTempDir('mount-host')
    setup.removeAfter(host)
    await writeFile(join(host, 'input'), 'from the host\n')
    const project = await makeProject({
      registryHost: setup.reg.host,
      dappfile: `from: localhost:5000/base/busybox:latest
mount:
  - {fromPath: ${host}, to: /in}
  - {fromPath: ../${basename(host)}-rel, to: /rel}
shell:
  install:
    - cat /in/input > /result
    - echo written by the stage > /in/written
    - echo relative > /rel/x
docker:
  CMD: ["/bin/sh", "-c", "cat /result; ls /in /rel 2>&1 | wc -l"]
`,
    })
    setup.removeAfter(join(project.dir, '..', `${basename(host)}-rel`))
    const h = setup.freshHome()
    const report = await build(project.dir, buildEnv(setup.reg, h))
    expect(await readFile(join(host, 'written'), 'utf8')).toBe('written by the stage\n')
    expect(await readFile(join(project.dir, '..', `${basename(host)}-rel`, 'x'), 'utf8')).toBe('relative\n')
    // the mount points were made for the stage and removed again: neither is in the image
    expect(await runImage(storeDir(h), finalStageName(report, basename(project.dir)))).toMatch(/^from the host\n\s*2\n$/)
  })

  it.each([
    ['SLIPWAY_HOME', (h: string) => h, 'SLIPWAY_HOME (the stages cache)'],
    ['the store inside it', (h: string) => join(h, 'store'), 'SLIPWAY_HOME (the stages cache)'],
    ['/', () => '/', 'SLIPWAY_HOME (the stages cache)'],
  ])('refuses fromPath of %s with one line, before building anything', async (_what, path, exposed) => {
    const h = setup.freshHome()
    await mkdir(h, {recursive: true})
    const project = await makeProject({registryHost: setup.reg.host, dappfile: `from: localhost:5000/base/busybox:latest\nmount: [{fromPath: ${path(h)}, to: /x}]\nshell: {install: [rm -rf /x/*]}\n`})
    const r = await runBuild(project.dir, buildEnv(setup.reg, h))
    expect(r.code).not.toBe(0)
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toContain(`mount fromPath "${path(h)}"`)
    expect(lines[0]).toContain(exposed)
    expect((await storeRefs(h).catch(() => [])).filter(n => n.startsWith('dimgstage-'))).toEqual([])
  })

  it('rebuilds from the from stage when a build_dir mount moves (stages built with the old mount are not reused)', async () => {
    const config = (to: string): string => `from: localhost:5000/base/busybox:latest
mount: [{from: build_dir, to: ${to}}]
shell:
  install: [date +%N >> ${to}/runs, wc -l < ${to}/runs > /runs]
`
    const project = await makeProject({registryHost: setup.reg.host, dappfile: config('/cache')})
    const h = setup.freshHome()
    const first = await build(project.dir, buildEnv(setup.reg, h))
    const name = basename(project.dir)
    expect(builtStages(first, name)).toEqual(['from', 'install'])
    expect((await build(project.dir, buildEnv(setup.reg, h))).built).toBe(0)
    await project.commit('move the cache', {'dappfile.yaml': config('/var/cache')})
    const moved = await build(project.dir, buildEnv(setup.reg, h))
    expect(builtStages(moved, name)).toEqual(['from', 'install'])
  })
})
