/** Issue 18: the flags a CI job sets, from SLIPWAY_* variables as werf's WERF_* (flags and arguments win). */
import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway, type CliResult} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const dappfile = `dimg: app
from: localhost:5000/base/busybox:latest
shell:
  install: [echo built > /built]
`

describe('SLIPWAY_* environment variables', () => {
  let reg: TestRegistry
  let project: TestProject
  let elsewhere: string
  const homes = freshHomes()
  let home: string
  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, dappfile})
    elsewhere = await makeTempDir('slipway-cwd-')
    home = homes.home()
  })
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
    await removeTempDir(elsewhere)
  })

  /** slipway run from a directory that is not the project: only SLIPWAY_DIR (or --dir) finds it. */
  const slipway = (args: string[], env: Record<string, string>): Promise<CliResult> =>
    runSlipway(args, {cwd: elsewhere, env: {SLIPWAY_HOME: home, ...reg.env(), ...env}, timeoutMs: 180_000})

  async function tags(path: string): Promise<string[]> {
    const res = await fetch(`${reg.url}/v2/${path}/tags/list`)
    if (res.status === 404) return []
    return (((await res.json()) as {tags: string[] | null}).tags ?? []).filter(t => !t.startsWith('dimgstage-')).sort()
  }

  it('bp takes its directory, REPO, tags and parallelism from the environment', async () => {
    const r = await slipway(['dimg', 'bp', '--json'], {
      SLIPWAY_DIR: project.dir,
      SLIPWAY_REPO: `${reg.host}/env`,
      SLIPWAY_TAG_PLAIN: 'v1,v2\nrelease',
      SLIPWAY_TAG_COMMIT: 'true',
      SLIPWAY_PARALLEL: '1',
    })
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)])
    const head = await project.head()
    expect(await tags('env/app')).toEqual([head, 'release', 'v1', 'v2'].sort())
    expect(JSON.parse(r.stdout).build).toMatchObject({project: project.name, dev: false})
  })

  it('flags and a REPO argument win over the variables', async () => {
    const env = {SLIPWAY_DIR: '/nonexistent/project', SLIPWAY_REPO: `${reg.host}/from-env`, SLIPWAY_TAG_PLAIN: 'from-env', SLIPWAY_TAG_COMMIT: '1'}
    const r = await slipway(['dimg', 'bp', `${reg.host}/from-args`, '--dir', project.dir, '--tag-plain', 'from-flag', '--no-tag-commit'], env)
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)])
    expect(await tags('from-args/app')).toEqual(['from-flag'])
    expect(await tags('from-env/app')).toEqual([])
  })

  it('with SLIPWAY_REPO set, the arguments are DIMGs; SLIPWAY_REPO serves the REPO argument of stages push, list repo and flush repo', async () => {
    const env = {SLIPWAY_DIR: project.dir, SLIPWAY_REPO: `${reg.host}/stages-env`}
    expect((await slipway(['dimg', 'stages', 'push', 'app'], env)).code).toBe(0)
    const listed = await slipway(['dimg', 'stages', 'list', 'repo', '--json'], env)
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({dimg: 'app', image: expect.stringContaining(`${reg.host}/stages-env:dimgstage-`)})]))
    const flushed = await slipway(['dimg', 'stages', 'flush', 'repo', '--dry-run', '--json'], env)
    expect(flushed.code).toBe(0)
    // a dimg that is not in the dappfile is refused as a dimg, not taken for a repository
    const wrong = await slipway(['dimg', 'stages', 'push', 'nosuchdimg'], env)
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/nosuchdimg/)
  })

  it('SLIPWAY_DEV switches dev mode on (and --no-dev off); a bad SLIPWAY_PARALLEL is a usage error naming the variable', async () => {
    const dev = await slipway(['dimg', 'build', '--json'], {SLIPWAY_DIR: project.dir, SLIPWAY_DEV: '1'})
    expect(dev.code).toBe(0)
    expect(JSON.parse(dev.stdout).dev).toBe(true)
    const notDev = await slipway(['dimg', 'build', '--json', '--no-dev'], {SLIPWAY_DIR: project.dir, SLIPWAY_DEV: '1'})
    expect(JSON.parse(notDev.stdout).dev).toBe(false)
    const bad = await slipway(['dimg', 'build'], {SLIPWAY_DIR: project.dir, SLIPWAY_PARALLEL: '0'})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^slipway: dimg build: .*parallel.* \(see slipway dimg build --help\)\n$/)
  })

  it("SLIPWAY_CONTENT_TYPE=json (oclif's variable) is --json on a command that has --json", async () => {
    const list = ['dimg', 'stages', 'list', 'local', '--dir', project.dir]
    const [table, viaEnv, viaFlag] = await Promise.all([slipway(list, {}), slipway(list, {SLIPWAY_CONTENT_TYPE: 'json'}), slipway([...list, '--json'], {})])
    expect([table.code, viaEnv.code, viaFlag.code]).toEqual([0, 0, 0])
    expect(table.stdout.split('\n')[0]).toMatch(/^SIGNATURE\s/)
    expect(JSON.parse(viaEnv.stdout)).toEqual(JSON.parse(viaFlag.stdout))
  })

  it('without REPO or SLIPWAY_REPO the error says both; piped stdin never stands for a missing argument', async () => {
    // oclif reads a missing argument from piped stdin unless told not to: a CI job's stdin would become REPO
    const r = await runSlipway(['dimg', 'stages', 'list', 'repo'], {cwd: elsewhere, env: {SLIPWAY_HOME: home, SLIPWAY_DIR: project.dir}, input: `${reg.host}/from-stdin\n`})
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('slipway: dimg stages list repo: REPO is missing: usage: slipway dimg stages list repo REPO, e.g. localhost:5000/myproject, or set SLIPWAY_REPO\n')
  })
})
