/** --report-file: the --json result written to a file (atomically, only on success) while the human log
 *  stays on stdout/stderr, as werf's --save-build-report and kaniko's --digest-file do. */
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const dappfile = (command: string): string => `dimg: app
from: localhost:5000/base/busybox:latest
shell:
  install: [${JSON.stringify(command)}]
`

describe('--report-file', () => {
  const setup = useRegistry({base: true, project: {dappfile: dappfile('echo built > /built')}})
  let out: string
  beforeAll(async () => {
    out = await makeTempDir('slipway-report-')
  })
  afterAll(async () => {
    await removeTempDir(out)
  })
  const slipway = (args: string[]) => runSlipway([...args, '--dir', setup.project.dir], {env: {SLIPWAY_HOME: setup.home, ...setup.reg.env()}, timeoutMs: 120_000})

  it('dimg build writes the --json result to the file and keeps its human summary on stdout', async () => {
    const file = join(out, 'build.json')
    const r = await slipway(['dimg', 'build', '--report-file', file])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/^\{/)
    const report = JSON.parse(await readFile(file, 'utf8'))
    expect(report).toMatchObject({project: 'app', built: 2, dimgs: [{name: 'app'}]})
    // the same shape --json prints (a second build finds every stage cached)
    const json = JSON.parse((await slipway(['dimg', 'build', '--json'])).stdout)
    expect(Object.keys(report).sort()).toEqual(Object.keys(json).sort())
    expect(await readdir(out)).toEqual(['build.json']) // no temporary file left beside it
  })

  it('bp with --json and --report-file prints and writes the same result', async () => {
    const file = join(out, 'bp.json')
    const r = await slipway(['dimg', 'bp', `${setup.reg.host}/report`, '--with-stages', '--json', '--report-file', file])
    expect(r.code).toBe(0)
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(JSON.parse(r.stdout))
  })

  it('a failed build leaves the report file as it was; a report file in a missing directory is one line, exit 10', async () => {
    const file = join(out, 'build.json')
    const before = await readFile(file, 'utf8')
    const failing = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('exit 7'), name: 'failing'})
    const failed = await runSlipway(['dimg', 'build', '--dir', failing.dir, '--report-file', file], {env: {SLIPWAY_HOME: setup.home, ...setup.reg.env()}, timeoutMs: 120_000})
    expect(failed.code).toBe(9)
    expect(await readFile(file, 'utf8')).toBe(before)

    const missing = join(out, 'no-such-dir', 'r.json')
    const r = await slipway(['dimg', 'build', '--report-file', missing])
    expect(r.code).toBe(10)
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(new RegExp(`^slipway: cannot write the report file ${missing}: .*: name a file in an existing, writable directory$`))
  })
})
