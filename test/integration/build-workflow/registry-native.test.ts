import {STAGE_TAG_PREFIX} from '../../../src/naming/index.js'
import {runSlipway} from '../../helpers/cli.js'
import {getRawManifest, useRegistry} from '../../helpers/registry.js'
import {measureTraffic, type RegistryTraffic, storedManifest} from '../../helpers/registry-traffic.js'
import {build, type BuildReport} from './support.js'

/**
 * `dimg build --repo REPO` on an empty store plans against REPO's stages: what REPO has is not built and
 * not downloaded; a stage that must be built downloads only the image it stands on, and only if it reads
 * its parent's files. Downloads are read from the registry's access log.
 */
const DAPPFILE = `dimg: app
from: localhost:5000/base/busybox:latest
git:
  - add: /
    to: /app
    excludePaths: [dappfile.yaml]
    stageDependencies:
      install: [deps.txt]
shell:
  install:
    - cp /app/deps.txt /deps
docker:
  CMD: ["cat", "/app/src.txt"]
`
const setup = useRegistry({base: true, project: {dappfile: DAPPFILE, files: {'deps.txt': 'deps v1\n', 'src.txt': 'source v1\n'}}})
const REPO_PATH = 'native'
let repo: string

/** The blobs GET'd in `traffic` (from the registry's access log), as `repository@digest`. */
const blobGets = (traffic: RegistryTraffic): string[] =>
  traffic.entries.filter(e => e.method === 'GET').map(e => /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(e.path)).filter(m => m !== null).map(m => `${m[1]}@${m[2]}`)
/** `dimg build` on a fresh home with these arguments, and the registry traffic it caused. */
const buildMeasured = async (args: string[], env: Record<string, string> = {}) => {
  const {result: report, traffic} = await measureTraffic(setup.reg, () => build(setup.project.dir, {SLIPWAY_HOME: setup.freshHome(), ...env}, args))
  return {report, traffic, gets: blobGets(traffic)}
}

async function stageLayers(signature: string): Promise<string[]> {
  const m = JSON.parse((await getRawManifest(setup.reg, REPO_PATH, `${STAGE_TAG_PREFIX}${signature}`)).bytes.toString('utf8')) as {layers: {digest: string}[]}
  return m.layers.map(l => `${REPO_PATH}@${l.digest}`)
}

const statuses = (r: BuildReport): Record<string, string> => Object.fromEntries(r.dimgs[0].stages.map(s => [s.name, s.status]))
const signatureOf = (r: BuildReport, stage: string): string => r.dimgs[0].stages.find(s => s.name === stage)!.signature

async function seed(): Promise<BuildReport> {
  const h = setup.freshHome()
  const report = await build(setup.project.dir, {SLIPWAY_HOME: h})
  const push = await runSlipway(['dimg', 'stages', 'push', repo, '--dir', setup.project.dir], {env: {SLIPWAY_HOME: h}})
  if (push.code !== 0) throw new Error(push.stderr)
  return report
}

beforeAll(() => {
  repo = `${setup.reg.host}/${REPO_PATH}`
})

it('an empty store with every stage in REPO builds nothing and reads no layer', async () => {
  const seeded = await seed()
  const {report, traffic, gets} = await buildMeasured(['--repo', repo])
  const layers = (await Promise.all(seeded.dimgs[0].stages.map(s => stageLayers(s.signature)))).flat()
  expect({built: report.built, statuses: statuses(report), layerGets: gets.filter(g => layers.includes(g))}).toEqual({
    built: 0,
    statuses: Object.fromEntries(seeded.dimgs[0].stages.map(s => [s.name, 'cached-remote'])),
    layerGets: [],
  })
  // what came down: REPO's tag list, and the manifest and config of two stages — install, whose recorded git
  // commit the plan reads for the latest-patch stage, and docker, the last, which the build stands on
  const read = ['install', 'docker'].map(name => seeded.dimgs[0].stages.find(st => st.name === name)!.signature)
  const configs = await Promise.all(read.map(async sig => (await storedManifest(setup.reg, REPO_PATH, `${STAGE_TAG_PREFIX}${sig}`)).config!))
  expect(traffic.entries.map(e => `${e.method} ${e.path} ${e.status}`).sort()).toEqual([
    `GET /v2/${REPO_PATH}/tags/list 200`,
    ...read.map(sig => `GET /v2/${REPO_PATH}/manifests/${STAGE_TAG_PREFIX}${sig} 200`),
    ...configs.map(c => `GET /v2/${REPO_PATH}/blobs/${c.digest} 200`),
  ].sort())
  // the bytes the build reports are the configs' (manifests are not counted), as the access log has them
  const configBytes = configs.reduce((n, c) => n + c.size, 0)
  expect({reported: report.bytesDownloaded, inTheLog: traffic.blobBytesDownloaded}).toEqual({reported: configBytes, inTheLog: configBytes})
}, 120_000)

it('SLIPWAY_REPO works as --repo', async () => {
  const report = await build(setup.project.dir, {SLIPWAY_HOME: setup.freshHome(), SLIPWAY_REPO: repo})
  expect(report.built).toBe(0)
  expect(report.cachedRemote).toBe(report.dimgs[0].stages.length)
}, 120_000)

it('after a source-only commit the latest patch is built without any layer download', async () => {
  await setup.project.commit('source only', {'src.txt': 'source v2\n'})
  const {report, gets} = await buildMeasured(['--repo', repo])
  const s = statuses(report)
  expect({patch: s.gitLatestPatch, docker: s.docker, install: s.install, built: report.built}).toEqual({patch: 'built', docker: 'built', install: 'cached-remote', built: 2})
  const layers = (await Promise.all(report.dimgs[0].stages.filter(x => x.status !== 'built').map(x => stageLayers(x.signature)))).flat()
  expect(gets.filter(g => layers.includes(g))).toEqual([])
}, 120_000)

it('after a stageDependencies change only the layers of the image the rebuilt stage stands on come down', async () => {
  await setup.project.commit('deps', {'deps.txt': 'deps v2\n'})
  const {report, gets} = await buildMeasured(['--repo', repo])
  const s = statuses(report)
  expect({install: s.install, gitArchive: s.gitArchive}).toEqual({install: 'built', gitArchive: 'cached-remote'})
  const standsOn = await stageLayers(signatureOf(report, 'gitArchive'))
  const repoLayers = new Set((await Promise.all(report.dimgs[0].stages.filter(x => x.status === 'cached-remote').map(x => stageLayers(x.signature)))).flat())
  expect(new Set(gets.filter(g => repoLayers.has(g)))).toEqual(new Set(standsOn))
}, 120_000)
