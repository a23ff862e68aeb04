import {join} from 'node:path'

import {runSlipway, type CliResult} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {getRawBlob, getRawManifest, putRawBlob, putRawManifest, useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'

/**
 * A `dimgstage-<signature>` tag is trusted only as far as its image's labels agree with it: re-pointed at
 * another project's stage, or at an image labelled with another cache version, it is not pulled, the
 * pull warns naming the tag, and the build makes that stage itself.
 */
const setup = useRegistry({base: true})
let mine: TestProject
let other: TestProject
const REPO_PATH = 'shared'
let repo: string
const cli = (h: string, args: string[]): Promise<CliResult> => runSlipway(args, {env: {SLIPWAY_HOME: h}})
const ok = async (h: string, args: string[]): Promise<string> => {
  const r = await cli(h, args)
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

const dappfile = (host: string, content: string): string => `dimg: app
from: ${host}/base/busybox:latest
shell:
  install:
    - echo "${content}" > /content
docker:
  CMD: ["cat", "/content"]
`

interface StageRow {
  stage: string
  signature: string
  image: string
  status: string
}
type Stages = Record<string, StageRow>
const byStage = (rows: StageRow[]): Stages => Object.fromEntries(rows.map(r => [r.stage, r]))

let mineStages: Stages
let otherStages: Stages

beforeAll(async () => {
  repo = `${setup.reg.host}/${REPO_PATH}`
  mine = await makeProject({registryHost: setup.reg.host, dappfile: dappfile(setup.reg.host, 'mine'), name: 'mine'})
  other = await makeProject({registryHost: setup.reg.host, dappfile: dappfile(setup.reg.host, 'other'), name: 'other'})
  // both projects keep their stages in one shared REPO
  const push = async (p: TestProject): Promise<Stages> => {
    const h = setup.freshHome()
    await ok(h, ['dimg', 'build', '--dir', p.dir])
    return byStage(JSON.parse(await ok(h, ['dimg', 'stages', 'push', repo, '--json', '--dir', p.dir])).stages)
  }
  mineStages = await push(mine)
  otherStages = await push(other)
}, 120_000)

it('a stage tag re-pointed at another project\'s stage, or at one of another cache version, is not pulled or used; the build makes those stages', async () => {
  expect(Object.keys(mineStages)).toEqual(expect.arrayContaining(['from', 'install', 'docker']))
  const tag = (s: StageRow): string => `dimgstage-${s.signature}`
  // docker (the final stage): re-pointed at the other project's (its labels: other signature, other project)
  await putRawManifest(setup.reg, REPO_PATH, tag(mineStages.docker), await getRawManifest(setup.reg, REPO_PATH, tag(otherStages.docker)))
  // install: our own stage relabelled with another cache version (config and annotations alike)
  const install = await getRawManifest(setup.reg, REPO_PATH, tag(mineStages.install))
  const manifest = JSON.parse(install.bytes.toString('utf8')) as {config: {digest: string; size: number}; annotations: Record<string, string>}
  const config = JSON.parse((await getRawBlob(setup.reg, REPO_PATH, manifest.config.digest)).toString('utf8')) as {config: {Labels: Record<string, string>}}
  config.config.Labels['dev.slipway.cache-version'] = '0'
  const configBytes = Buffer.from(JSON.stringify(config))
  manifest.config = {...manifest.config, digest: await putRawBlob(setup.reg, REPO_PATH, configBytes), size: configBytes.length}
  manifest.annotations['dev.slipway.cache-version'] = '0'
  await putRawManifest(setup.reg, REPO_PATH, tag(mineStages.install), {bytes: Buffer.from(JSON.stringify(manifest)), mediaType: install.mediaType})

  const h = setup.freshHome()
  const pull = await cli(h, ['dimg', 'stages', 'pull', repo, '--json', '--dir', mine.dir])
  expect(pull.code).toBe(0)
  const pulled = byStage(JSON.parse(pull.stdout).stages)
  const status = (stage: string): string => pulled[stage]?.status ?? 'not looked up'
  const local = (JSON.parse(await ok(h, ['dimg', 'stages', 'list', 'local', '--json', '--dir', mine.dir])) as {signature: string}[]).map(s => s.signature)
  const build = JSON.parse(await ok(h, ['dimg', 'build', '--json', '--dir', mine.dir])) as {dimgs: {stages: {name: string; status: string}[]}[]}
  const built = Object.fromEntries(build.dimgs[0].stages.map(s => [s.name, s.status]))
  const output = await runImage(join(h, 'store'), `dimgstage-mine:${mineStages.docker.signature}`)
  expect({pulled: {docker: status('docker'), install: status('install'), from: status('from')}, local, built, output}).toEqual({
    pulled: {docker: 'mismatch', install: 'mismatch', from: 'pulled'},
    local: [mineStages.from.signature],
    built: {from: 'cached', install: 'built', docker: 'built'},
    output: 'mine\n',
  })
  const warnings = pull.stderr.split('\n').filter(l => l.startsWith('warning:'))
  expect(warnings).toEqual(expect.arrayContaining([
    expect.stringContaining(`${repo}:${tag(mineStages.docker)} is not used as stage ${mineStages.docker.signature.slice(0, 12)}: its signature label is ${otherStages.docker.signature.slice(0, 12)}, it belongs to project "other"`),
    expect.stringContaining(`${repo}:${tag(mineStages.install)} is not used as stage ${mineStages.install.signature.slice(0, 12)}: its cache version is "0", not "`),
  ]))
  expect(warnings).toHaveLength(2)
}, 120_000)

it('a tag whose labels agree is pulled as before', async () => {
  const h = setup.freshHome()
  await ok(h, ['dimg', 'stages', 'pull', repo, '--json', '--dir', other.dir])
  const build = JSON.parse(await ok(h, ['dimg', 'build', '--json', '--dir', other.dir])) as {built: number}
  expect(build.built).toBe(0)
}, 120_000)
