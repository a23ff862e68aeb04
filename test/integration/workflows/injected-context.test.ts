import {createHash} from 'node:crypto'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {recordingReporter} from '../../helpers/reporter.js'
import {getRawManifest, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {parseImageRef, parseRepository} from '../../../src/oci/ref.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {OciStore} from '../../../src/store/index.js'
import {WorkflowContext} from '../../../src/workflows/context.js'
import type {StagesListingJson} from '../../../src/project/index.js'
import {pushProjectStages} from '../../../src/workflows/push-stages.js'
import type {SyncResult} from '../../../src/transfer/stage-sync.js'
import {flushStages} from '../../../src/workflows/flush-stages.js'
import {listStages} from '../../../src/workflows/list-stages.js'

/**
 * The stages workflows run in this process on a store and a registry client the test made (ContextOptions'
 * `store` and `registry`), against the real registry: no CLI, so what the workflow returns and what it told
 * its reporter are checked as values. The context's own SLIPWAY_HOME stays empty (the injected store is the
 * one used), and closing the context leaves the injected client open: it is the test's to close.
 */
let reg: TestRegistry
let project: TestProject
let buildHome: string
const homes = freshHomes()
const REPO_PATH = 'injected'
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

const dappfile = (host: string): string => `dimg: app
from: ${host}/base/busybox:latest
shell:
  install:
    - echo installed > /installed
`

beforeAll(async () => {
  reg = await startRegistry('plain')
  await pushBaseImage(reg)
  project = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host)})
  buildHome = homes.home()
  const built = await runSlipway(['dimg', 'build', '--quiet', '--dir', project.dir], {env: {SLIPWAY_HOME: buildHome, ...reg.env()}})
  if (built.code !== 0) throw new Error(`dimg build exited with ${built.code}:\n${built.stderr}`)
}, 180_000)

afterAll(async () => {
  await reg?.stop()
  await homes.removeAll()
})

it('pushes, lists and flushes the stages through an injected store and registry client, and reports what it moved', async () => {
  const store = await OciStore.open(join(buildHome, 'store'))
  const registry = new RegistryClient({env: {...process.env, ...reg.env()}})
  const reporter = recordingReporter()
  const emptyHome = homes.home()
  const ctx = new WorkflowContext({env: {...process.env, ...reg.env(), SLIPWAY_HOME: emptyHome}, reporter, store, registry})
  const repoText = `${reg.host}/${REPO_PATH}`
  const repo = parseRepository(repoText)
  try {
    const listing = (await pushProjectStages(ctx, {dir: project.dir, repo, repoText, dryRun: true})) as StagesListingJson
    const images = listing.dimgs.flatMap(d => d.stages.map(s => s.image))
    expect(listing.dimgs.map(d => [d.listedAs, d.stages.map(s => s.name)])).toEqual([['app', ['from', 'install']]])
    expect(reporter.images).toEqual([])

    const pushed = (await pushProjectStages(ctx, {dir: project.dir, repo, repoText})) as SyncResult
    expect(pushed.stages.map(s => [s.image, s.status])).toEqual(images.map(i => [i, 'pushed']))
    for (const s of pushed.stages) expect(sha256((await getRawManifest(reg, REPO_PATH, `dimgstage-${s.signature}`)).bytes)).toBe(s.digest)
    // one image event per stage, as the CLI's reporter would print them
    expect(reporter.images.map(e => [e.verb, e.ref]).sort()).toEqual(images.map(i => ['pushed', i]).sort())

    const rows = await listStages(ctx, 'repo', {dir: project.dir, repo})
    expect(rows.map(r => r.signature).sort()).toEqual(pushed.stages.map(s => s.signature).sort())

    const flushed = await flushStages(ctx, 'repo', {dir: project.dir, repo})
    expect(flushed.deleted.sort()).toEqual([...images].sort())
    expect(reporter.lines.filter(l => l.startsWith('deleted ')).sort()).toEqual(images.map(i => `deleted ${i}`).sort())
    expect(reporter.warnings).toEqual([])
    expect(await readdir(emptyHome)).toEqual([])
  } finally {
    await ctx.close()
  }
  // the context did not close the client it was given
  expect(await registry.headManifest(parseImageRef(`${reg.host}/base/busybox:latest`))).toBeDefined()
  await registry.close()
}, 120_000)
