/** Issue 17: dimgs built on dimgs of the same config (fromDimg, fromImage, fromArtifact…). */
import {runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {measureTraffic} from '../../helpers/registry-traffic.js'
import {runImage} from '../../helpers/run-image.js'
import {type BpJson, builtStages as builtInBp, dimgReport as bpDimg, runners, stageLayers} from '../registry-native/support.js'
import {build, buildEnv, builtStages, dimgReport, finalStageName, manifestOf, runBuild, skopeoInspect, stageSignature, storeDir} from './support.js'

const dappfile = (baseLine: string): string => `artifact: rootfs
from: localhost:5000/base/busybox:latest
shell:
  install: [echo rootfs > /rootfs]
---
dimg: base
fromArtifact: rootfs
shell:
  beforeInstall: [${baseLine}]
---
dimg: app
fromImage: base
shell:
  install: [cat /rootfs /base > /app]
docker:
  CMD: ["/bin/cat", "/app"]
---
dimg: other
from: localhost:5000/base/busybox:latest
docker:
  CMD: ["/bin/true"]
`

describe('dimg build: images built on images', () => {
  const setup = useRegistry({base: true})

  it("starts a dimg from its base dimg's last stage, its layers first, and rebuilds it when the base changes", async () => {
    const h = setup.freshHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('echo base v1 > /base')})
    const first = await build(project.dir, buildEnv(setup.reg, h))
    expect(await runImage(storeDir(h), finalStageName(first, 'app'))).toBe('rootfs\nbase v1\n')
    const [baseManifest, appManifest] = [await manifestOf(h, finalStageName(first, 'base')), await manifestOf(h, finalStageName(first, 'app'))]
    expect(appManifest.layers.slice(0, baseManifest.layers.length)).toEqual(baseManifest.layers)
    expect(stageSignature(first, 'app', 'from')).not.toBe(dimgReport(first, 'base').signature)
    // the from stage names the stage it stands on as cleanup reads imports, so the base's chain is kept with it
    const fromLabels = (await skopeoInspect(h, `dimgstage-${first.project}:${stageSignature(first, 'app', 'from')}`)).Labels ?? {}
    expect(fromLabels['dev.slipway.imports']?.split(',')).toContain(dimgReport(first, 'base').signature)

    const again = await build(project.dir, buildEnv(setup.reg, h))
    expect(again.built).toBe(0)

    await project.commit('base v2', {'dappfile.yaml': dappfile('echo base v2 > /base')})
    const second = await build(project.dir, buildEnv(setup.reg, h))
    expect({rootfs: builtStages(second, 'rootfs'), base: builtStages(second, 'base'), app: builtStages(second, 'app'), other: builtStages(second, 'other')}).toEqual({
      rootfs: [],
      base: ['beforeInstall'],
      app: ['from', 'install', 'docker'],
      other: [],
    })
    expect(await runImage(storeDir(h), finalStageName(second, 'app'))).toBe('rootfs\nbase v2\n')
  })

  it('builds what a named dimg stands on, and only that', async () => {
    const h = setup.freshHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('echo base > /base')})
    const report = await build(project.dir, buildEnv(setup.reg, h), ['app'])
    expect(report.dimgs.map(d => d.listedAs)).toEqual(['rootfs', 'base', 'app'])
    expect(await runImage(storeDir(h), finalStageName(report, 'app'))).toBe('rootfs\nbase\n')
  })

  it("imports from an image, from its last stage or from the stage named, and follows only the chosen stage's changes", async () => {
    const h = setup.freshHome()
    const config = (setup: string): string => `dimg: web
from: localhost:5000/base/busybox:latest
shell:
  beforeInstall: [mkdir /data, echo early > /data/x]
  setup: [${setup}]
---
dimg: app
from: localhost:5000/base/busybox:latest
import:
  - {image: web, add: /data, to: /early, stage: beforeInstall, after: install}
  - {image: web, add: /data, to: /late, before: setup}
docker:
  CMD: ["/bin/cat", "/early/x", "/late/x"]
`
    const project = await makeProject({registryHost: setup.reg.host, dappfile: config('echo late v1 > /data/x')})
    const first = await build(project.dir, buildEnv(setup.reg, h))
    expect(await runImage(storeDir(h), finalStageName(first, 'app'))).toBe('early\nlate v1\n')
    await project.commit('web setup v2', {'dappfile.yaml': config('echo late v2 > /data/x')})
    const second = await build(project.dir, buildEnv(setup.reg, h))
    expect({web: builtStages(second, 'web'), app: builtStages(second, 'app')}).toEqual({web: ['setup'], app: ['importsBeforeSetup', 'docker']})
    expect(await runImage(storeDir(h), finalStageName(second, 'app'))).toBe('early\nlate v2\n')
  })

  it('refuses a cycle of bases with one line naming it', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile: 'dimg: a\nfromDimg: b\n---\ndimg: b\nfromImage: a\n'})
    const r = await runBuild(project.dir, buildEnv(setup.reg, setup.freshHome()))
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')[0]).toMatch(/dimg "b" › fromImage: cycle of bases and imports: a → b → a$/)
  })

  it('on an empty runner, finds the base dimg in REPO: a new from stage on it downloads no layer, and bp pushes only the named dimg', async () => {
    const run = runners()
    try {
      const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('echo base > /base')})
      const repo = `${setup.reg.host}/chain`
      await run.bp(project, repo)
      await project.commit('app from cache version 2', {'dappfile.yaml': dappfile('echo base > /base').replace('fromImage: base\n', 'fromImage: base\nfromCacheVersion: 2\n')})
      const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(project, repo))
      // install reads its parent's files: the base dimg's layers are downloaded for it, and nothing else
      expect(builtInBp(bp)).toEqual({rootfs: [], base: [], app: ['from', 'install', 'docker'], other: []})
      expect(bpDimg(bp, 'base').stages.map(s => s.status)).toEqual(['cached-remote', 'cached-remote'])
      expect(traffic.layersDownloaded).toEqual((await stageLayers(setup.reg, 'chain', bpDimg(bp, 'base').stages.at(-1)!.signature)).sort())

      await project.commit('app CMD', {'dappfile.yaml': dappfile('echo base > /base').replace('fromImage: base\n', 'fromImage: base\nfromCacheVersion: 3\n').replace('shell:\n  install: [cat /rootfs /base > /app]\n', '')})
      const {result: noFiles, traffic: none} = await measureTraffic(setup.reg, () => run.bp(project, repo))
      expect(builtInBp(noFiles).app).toEqual(['from', 'docker'])
      expect(none.layerBytesDownloaded).toBe(0)

      const only = await runSlipway(['dimg', 'bp', 'app', `${repo}-app`, '--json', '--dir', project.dir], {env: {SLIPWAY_HOME: setup.freshHome()}})
      expect(only.code).toBe(0)
      const pushed = (JSON.parse(only.stdout) as BpJson).push.images.map(i => i.dimg)
      expect(pushed).toEqual(['app'])
    } finally {
      await run.cleanup()
    }
  })
})
