/** Dimgs built in parallel that share their first stages: each shared stage is built once per run. */
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {build, buildEnv, builtStages, dimgReport, finalStageName, manifestOf, runBuild, stageSignature, storeDir, storeRefs} from './support.js'

const dappfile = (bInstall: string): string =>
  ['a', 'b']
    .map(
      name => `dimg: ${name}
from: localhost:5000/base/busybox:latest
shell:
  beforeInstall:
    - sleep 1
    - echo shared > /shared
  install:
    - ${name === 'b' ? bInstall : 'echo a > /own'}
docker:
  CMD: ["/bin/cat", "/shared", "/own"]
`,
    )
    .join('---\n')

describe('dimg build: stages shared by dimgs of one run', () => {
  const setup = useRegistry({base: true})

  it('builds a shared stage once and both images carry its layer', async () => {
    const home = setup.freshHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('echo b > /own')})
    const report = await build(project.dir, buildEnv(setup.reg, home), ['--parallel', '2'])
    const shared = ['from', 'beforeInstall']
    for (const s of shared) expect(stageSignature(report, 'a', s)).toBe(stageSignature(report, 'b', s))
    const builtBy = (s: string): string[] => ['a', 'b'].filter(d => builtStages(report, d).includes(s))
    for (const s of shared) expect(builtBy(s)).toHaveLength(1)
    expect(builtBy('install')).toEqual(['a', 'b'])
    expect(report.built).toBe(2 + 2 * 2)
    expect(report.cached).toBe(2)

    expect(await runImage(storeDir(home), finalStageName(report, 'a'))).toBe('shared\na\n')
    expect(await runImage(storeDir(home), finalStageName(report, 'b'))).toBe('shared\nb\n')
    const [ma, mb] = [await manifestOf(home, finalStageName(report, 'a')), await manifestOf(home, finalStageName(report, 'b'))]
    expect(ma.layers.slice(0, 2)).toEqual(mb.layers.slice(0, 2))
    expect(ma.layers[2].digest).not.toBe(mb.layers[2].digest)
    expect((await storeRefs(home)).filter(r => r.startsWith('dimgstage-'))).toHaveLength(6)
  })

  it('a dimg that fails after a shared stage does not keep the other from caching it', async () => {
    const home = setup.freshHome()
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('exit 4')})
    const failed = await runBuild(project.dir, buildEnv(setup.reg, home), ['--parallel', '2'])
    expect(failed.code).toBe(9)
    expect(failed.stderr.trim().split('\n').pop()).toMatch(/^slipway: b: stage install failed: a command exited with code 4/)
    const refs = (await storeRefs(home)).filter(r => r.startsWith('dimgstage-'))
    expect(refs).toHaveLength(4) // a's from, beforeInstall, install, docker

    await project.commit('fix b', {'dappfile.yaml': dappfile('echo b > /own')})
    const report = await build(project.dir, buildEnv(setup.reg, home))
    expect(builtStages(report, 'a')).toEqual([])
    expect(builtStages(report, 'b')).toEqual(['install', 'docker'])
    expect(dimgReport(report, 'b').stages.map(s => s.status)).toEqual(['cached', 'cached', 'built', 'built'])
  })
})
