import {readFile} from 'node:fs/promises'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {getRawManifest, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {build, type BuildReport} from './support.js'

/**
 * `dimg build --repo REPO` on an empty store plans against REPO's stages: what REPO has is not built and
 * not downloaded; a stage that must be built downloads only the image it stands on, and only if it reads
 * its parent's files. Downloads are read from the registry's access log.
 */
let reg: TestRegistry
let project: TestProject
const REPO_PATH = 'native'
let repo: string
const {home, removeAll} = freshHomes()

const dappfile = (host: string): string => `dimg: app
from: ${host}/base/busybox:latest
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

/** Blob digests GET'd from REPO in the access log lines after `from` bytes, waiting for a sentinel line to be written. */
let sentinel = 0
async function logOffset(): Promise<number> {
  const mark = `mark-${++sentinel}`
  await fetch(`${reg.url}/v2/?${mark}`)
  for (;;) {
    const text = await readFile(reg.logFile, 'utf8')
    const at = text.indexOf(mark)
    if (at >= 0) return text.indexOf('\n', at) + 1
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
async function blobGetsSince(from: number): Promise<string[]> {
  const until = await logOffset()
  const text = (await readFile(reg.logFile, 'utf8')).slice(from, until)
  return [...text.matchAll(/"GET \/v2\/([^ ]+)\/blobs\/(sha256:[a-f0-9]{64}) HTTP/g)].map(m => `${m[1]}@${m[2]}`)
}

async function stageLayers(signature: string): Promise<string[]> {
  const m = JSON.parse((await getRawManifest(reg, REPO_PATH, `dimgstage-${signature}`)).bytes.toString('utf8')) as {layers: {digest: string}[]}
  return m.layers.map(l => `${REPO_PATH}@${l.digest}`)
}

const statuses = (r: BuildReport): Record<string, string> => Object.fromEntries(r.dimgs[0].stages.map(s => [s.name, s.status]))
const signatureOf = (r: BuildReport, stage: string): string => r.dimgs[0].stages.find(s => s.name === stage)!.signature

async function seed(): Promise<BuildReport> {
  const h = home()
  const report = await build(project.dir, {SLIPWAY_HOME: h})
  const push = await runSlipway(['dimg', 'stages', 'push', repo, '--dir', project.dir], {env: {SLIPWAY_HOME: h}})
  if (push.code !== 0) throw new Error(push.stderr)
  return report
}

beforeAll(async () => {
  reg = await startRegistry('plain')
  await pushBaseImage(reg)
  repo = `${reg.host}/${REPO_PATH}`
  project = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host), files: {'deps.txt': 'deps v1\n', 'src.txt': 'source v1\n'}})
}, 120_000)
afterAll(async () => {
  await reg?.stop()
  await removeAll()
})

it('an empty store with every stage in REPO builds nothing and reads no layer', async () => {
  const seeded = await seed()
  const from = await logOffset()
  const report = await build(project.dir, {SLIPWAY_HOME: home()}, ['--repo', repo])
  const layers = (await Promise.all(seeded.dimgs[0].stages.map(s => stageLayers(s.signature)))).flat()
  const gets = await blobGetsSince(from)
  expect({built: report.built, statuses: statuses(report), layerGets: gets.filter(g => layers.includes(g))}).toEqual({
    built: 0,
    statuses: Object.fromEntries(seeded.dimgs[0].stages.map(s => [s.name, 'cached-remote'])),
    layerGets: [],
  })
  // the one stage resolved (the last) had its config read: that is all that came down
  expect(report.bytesDownloaded).toBeGreaterThan(0)
  expect(report.bytesDownloaded).toBeLessThan(16 * 1024)
}, 120_000)

it('SLIPWAY_REPO works as --repo', async () => {
  const report = await build(project.dir, {SLIPWAY_HOME: home(), SLIPWAY_REPO: repo})
  expect(report.built).toBe(0)
  expect(report.cachedRemote).toBe(report.dimgs[0].stages.length)
}, 120_000)

it('after a source-only commit the latest patch is built without any layer download', async () => {
  await project.commit('source only', {'src.txt': 'source v2\n'})
  const from = await logOffset()
  const report = await build(project.dir, {SLIPWAY_HOME: home()}, ['--repo', repo])
  const gets = await blobGetsSince(from)
  const s = statuses(report)
  expect({patch: s.gitLatestPatch, docker: s.docker, install: s.install, built: report.built}).toEqual({patch: 'built', docker: 'built', install: 'cached-remote', built: 2})
  const layers = (await Promise.all(report.dimgs[0].stages.filter(x => x.status !== 'built').map(x => stageLayers(x.signature)))).flat()
  expect(gets.filter(g => layers.includes(g))).toEqual([])
}, 120_000)

it('after a stageDependencies change only the layers of the image the rebuilt stage stands on come down', async () => {
  await project.commit('deps', {'deps.txt': 'deps v2\n'})
  const from = await logOffset()
  const report = await build(project.dir, {SLIPWAY_HOME: home()}, ['--repo', repo])
  const gets = await blobGetsSince(from)
  const s = statuses(report)
  expect({install: s.install, gitArchive: s.gitArchive}).toEqual({install: 'built', gitArchive: 'cached-remote'})
  const standsOn = await stageLayers(signatureOf(report, 'gitArchive'))
  const repoLayers = new Set((await Promise.all(report.dimgs[0].stages.filter(x => x.status === 'cached-remote').map(x => stageLayers(x.signature)))).flat())
  expect(new Set(gets.filter(g => repoLayers.has(g)))).toEqual(new Set(standsOn))
}, 120_000)
