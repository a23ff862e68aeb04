import {join} from 'node:path'

import {runSlipway, type CliResult} from '../../helpers/cli.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {checkRegistryTag, expectClearError, registryTags, verifyHome} from './support.js'

/**
 * Many slipway processes on one store, and several hosts on one registry while a cleanup runs: nothing
 * in use is lost, nothing is corrupt, every process either succeeds or fails with one clear line.
 */
const setup = useRegistry({base: true, project: {fromExample: true, name: 'example'}, timeoutMs: 60_000})
let repo: string
const slipway = (h: string, args: string[]) =>
  runSlipway(args[0] === 'dimg' && args[1] !== 'cleanup' ? [...args, '--dir', setup.project.dir] : args, {env: {SLIPWAY_HOME: h}, timeoutMs: 180_000})
const okOrClear = (r: CliResult, what: string): void => {
  if (r.code !== 0) expect(`${what}: ${expectClearError(r)}`).toMatch(/\S/)
}

beforeAll(() => {
  repo = `${setup.reg.host}/example`
})

it('4 processes on one store (build, stages pull, stages cleanup local, build) all end well; the store verifies', async () => {
  // a registry copy of the stages to pull from
  const seed = setup.freshHome()
  expect((await slipway(seed, ['dimg', 'bp', repo, '--with-stages'])).code).toBe(0)

  const shared = setup.freshHome()
  const results = await Promise.all([
    slipway(shared, ['dimg', 'build']),
    slipway(shared, ['dimg', 'stages', 'pull', repo]),
    slipway(shared, ['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache']),
    slipway(shared, ['dimg', 'build']),
  ])
  results.forEach((r, i) => okOrClear(r, `process ${i}`))
  // the builds are the point: both must succeed
  expect(results[0].code).toBe(0)
  expect(results[3].code).toBe(0)
  expect((await verifyHome(shared)).ok).toBe(true)
  // and the store holds a complete cache: one more build builds nothing, and the images run
  const again = await slipway(shared, ['dimg', 'build', '--json'])
  expect(again.code).toBe(0)
  expect(JSON.parse(again.stdout).built).toBe(0)
}, 240_000)

it('2 hosts push the same project while a third cleans the repo up: nothing in use is lost', async () => {
  const target = `${setup.reg.host}/shared`
  const [a, b, c] = [setup.freshHome(), setup.freshHome(), setup.freshHome()]
  // the cleaning host needs the project's final images in the repo to judge what is in use
  const first = await slipway(c, ['dimg', 'bp', target, '--with-stages'])
  expect(first.stderr).toBe(first.code === 0 ? first.stderr : '(bp expected to succeed)')
  const results = await Promise.all([
    slipway(a, ['dimg', 'bp', target, '--with-stages']),
    slipway(b, ['dimg', 'bp', target, '--with-stages']),
    // the default grace period (2h) keeps stages other hosts may be building on
    slipway(c, ['dimg', 'stages', 'cleanup', 'repo', target, '--improper-repo-cache']),
  ])
  results.forEach((r, i) => okOrClear(r, `host ${i}`))
  expect(results[0].code).toBe(0)
  expect(results[1].code).toBe(0)

  // every tag left is whole: manifest, config and layers
  const tags = await registryTags(target)
  expect(tags.filter(t => t.startsWith('dimgstage-')).length).toBeGreaterThan(5)
  for (const t of tags) await checkRegistryTag(`${target}:${t}`, await makeTempDir('copy'))
  for (const dimg of ['web', 'worker']) {
    for (const t of await registryTags(`${target}/${dimg}`)) await checkRegistryTag(`${target}/${dimg}:${t}`, await makeTempDir('copy'))
  }
  // a new host pulls the cache and builds nothing; the final image it pulls runs
  const d = setup.freshHome()
  expect((await slipway(d, ['dimg', 'stages', 'pull', target])).code).toBe(0)
  const build = await slipway(d, ['dimg', 'build', '--json'])
  expect(build.code).toBe(0)
  expect(JSON.parse(build.stdout).built).toBe(0)
  expect((await runSlipway(['image', 'pull', `${target}/worker:latest`, '--name', 'worker'], {env: {SLIPWAY_HOME: d}})).code).toBe(0)
  expect(await runImage(join(d, 'store'), 'worker')).toMatch(/^worker example/)
  expect((await verifyHome(d)).ok).toBe(true)
}, 300_000)
