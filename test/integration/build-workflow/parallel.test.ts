/** Issue 18: --parallel N (SLIPWAY_PARALLEL) builds independent dimgs at once, a dimg on another after it. */
import {runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {build, type BuildReport, buildEnv, finalStageName, manifestOf, readBlob, runBuild} from './support.js'

const dappfile = `dimg: base
from: localhost:5000/base/busybox:latest
shell:
  install: [echo base > /base]
---
dimg: child
fromDimg: base
shell:
  install: [cat /base > /child, echo child >> /child]
---
dimg: other
from: localhost:5000/base/busybox:latest
shell:
  install: [echo other > /other]
`

/**
 * `bad` fails at once while `slow` (started beside it with --parallel 2) is still running; `later` waits for a
 * slot. `slow` goes on only once `bad` has reached its failing command (GATE is a host directory both mount),
 * and then 2 s more, so it is still running when the build sees `bad` fail however the two were scheduled.
 */
const failing = (gate: string): string => `dimg: bad
from: localhost:5000/base/busybox:latest
mount:
  - {fromPath: ${gate}, to: /gate}
shell:
  install: [": > /gate/bad-failing", exit 7]
---
dimg: slow
from: localhost:5000/base/busybox:latest
mount:
  - {fromPath: ${gate}, to: /gate}
shell:
  install: ["i=0; while [ ! -e /gate/bad-failing ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done", sleep 2, echo slow > /slow]
---
dimg: later
from: localhost:5000/base/busybox:latest
shell:
  install: [echo later > /later]
`

interface StageRow {
  signature: string
  dimg: string | null
  stage: string | null
  created: string | null
}

describe('dimg build --parallel', () => {
  const setup = useRegistry({base: true})

  const stagesList = async (dir: string, home: string): Promise<StageRow[]> => {
    const r = await runSlipway(['dimg', 'stages', 'list', 'local', '--dir', dir, '--json'], {env: buildEnv(setup.reg, home)})
    if (r.code !== 0) throw new Error(r.stderr)
    return JSON.parse(r.stdout) as StageRow[]
  }
  /** An image's layers and its config without the times it was made at. */
  const content = async (home: string, report: BuildReport, dimg: string) => {
    const m = await manifestOf(home, finalStageName(report, dimg))
    const config = JSON.parse((await readBlob(home, m.config.digest)).toString('utf8')) as {config: unknown; rootfs: unknown}
    return {layers: m.layers.map(l => l.digest), config: config.config, rootfs: config.rootfs}
  }

  it('builds three dimgs two at a time, the base before the dimg built on it, into the same images as one at a time', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile})
    const [h2, h1] = [setup.freshHome(), setup.freshHome()]
    const two = await build(project.dir, buildEnv(setup.reg, h2), ['--parallel', '2'])
    const one = await build(project.dir, {...buildEnv(setup.reg, h1), SLIPWAY_PARALLEL: '1'})
    expect(two.dimgs.map(d => d.listedAs).sort()).toEqual(['base', 'child', 'other'])
    expect(two.built).toBe(one.built)
    for (const dimg of ['base', 'child', 'other']) {
      expect([dimg, await content(h2, two, dimg)]).toEqual([dimg, await content(h1, one, dimg)])
    }
    // every stage of child was made after the last stage of base was in the cache
    const rows = await stagesList(project.dir, h2)
    // by the dimg's own stage signatures: a row's dimg label names whichever dimg built it first, and base's
    // from stage is also other's, which --parallel 2 may build first
    const created = (dimg: string) => {
      const signatures = new Set(two.dimgs.find(d => d.listedAs === dimg)!.stages.map(s => s.signature))
      return rows.filter(r => signatures.has(r.signature)).map(r => Date.parse(r.created!))
    }
    expect(created('base')).toHaveLength(two.dimgs.find(d => d.listedAs === 'base')!.stages.length)
    expect(Math.min(...created('child'))).toBeGreaterThanOrEqual(Math.max(...created('base')))
  })

  it('a failing dimg is one error line and exit 9: the dimg building beside it finishes whole, none not yet started is started, the store verifies', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile: failing(await makeTempDir('gate'))})
    const h = setup.freshHome()
    const r = await runBuild(project.dir, buildEnv(setup.reg, h), ['--parallel', '2'])
    expect(r.code).toBe(9)
    expect(r.stdout).toBe('')
    expect(r.stderr.split('\n').filter(l => l.startsWith('slipway:'))).toEqual([expect.stringMatching(/^slipway: .*bad.*exit.*7/)])
    const rows = await stagesList(project.dir, h)
    // (their from stages are one and the same stage: the install stages tell the dimgs apart)
    const installed = new Set(rows.filter(s => s.stage === 'install').map(s => s.dimg))
    expect([installed.has('slow'), installed.has('later'), installed.has('bad')]).toEqual([true, false, false])
    const verify = await runSlipway(['store', 'verify'], {env: buildEnv(setup.reg, h)})
    expect([verify.code, verify.stdout]).toEqual([0, expect.stringMatching(/0 corrupt, 0 missing/)])

    // one at a time, nothing after the failure is started
    const h1 = setup.freshHome()
    expect((await runBuild(project.dir, buildEnv(setup.reg, h1), ['--parallel', '1'])).code).toBe(9)
    expect((await stagesList(project.dir, h1)).filter(s => s.stage === 'install')).toEqual([])
  })
})
