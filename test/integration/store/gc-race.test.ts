import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHome, runSlipway, type CliResult} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {verifyHome} from '../reliability/support.js'

/**
 * `store gc --min-age 0` in a loop on one store while builds, pulls and build-context imports write to it:
 * whatever the interleaving, index.json never names a blob that is gone. Bounded by counts, not by time:
 * ROUNDS builds, ROUNDS flush+pull cycles, ROUNDS imports; gc runs until they are done (at most MAX_GC runs).
 * SLIPWAY_GC_RACE_ROUNDS=N runs the same race longer.
 */
const ROUNDS = Number(process.env.SLIPWAY_GC_RACE_ROUNDS ?? 6)
const MAX_GC = 400

let reg: TestRegistry
let built: TestProject
let pulled: TestProject
let repo: string
let archiveDir: string
const homes: string[] = []

/** A shell stage whose layer is new on every commit (random bytes) and big enough to take a while to write. */
const dappfile = (host: string): string => `dimg: app
from: ${host}/base/busybox:latest
git:
  - add: /src
    to: /src
    stageDependencies:
      install: ["*"]
shell:
  install:
    - head -c 3000000 /dev/urandom > /noise
    - cp /src/data.txt /data.txt
docker:
  CMD: ["cat", "/data.txt"]
`

const home = (): string => {
  const h = freshHome()
  homes.push(h)
  return h
}
const cli = (h: string, args: string[]): Promise<CliResult> => runSlipway(args, {env: {SLIPWAY_HOME: h}, timeoutMs: 120_000})

beforeAll(async () => {
  reg = await startRegistry('plain')
  await pushBaseImage(reg)
  repo = `${reg.host}/pulled`
  built = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host), files: {'src/data.txt': 'built 0\n'}, name: 'built'})
  pulled = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host), files: {'src/data.txt': 'pulled\n'}, name: 'pulled'})
  // a seed host puts the pulled project's stages and final image in REPO and exports its build context
  const seed = home()
  archiveDir = await makeTempDir('gc-race-context')
  for (const args of [
    ['dimg', 'bp', repo, '--with-stages', '--dir', pulled.dir],
    ['dimg', 'build-context', 'export', '--dir', pulled.dir, '--build-context-directory', archiveDir],
  ]) {
    const r = await cli(seed, args)
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`)
  }
}, 120_000)
afterAll(async () => {
  await reg?.stop()
  for (const h of homes) await removeTempDir(h)
  if (archiveDir) await removeTempDir(archiveDir)
})

it(`store gc --min-age 0 in a loop against ${ROUNDS} builds, stages/image pulls and build-context imports: every ref resolves`, async () => {
  const shared = home()
  const failures: string[] = []
  const run = async (args: string[]): Promise<void> => {
    const r = await cli(shared, args)
    if (r.code !== 0) failures.push(`${args.slice(0, 3).join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`)
  }
  let writersDone = false
  let gcRuns = 0
  const gcLoop = async (): Promise<void> => {
    while (!writersDone && gcRuns < MAX_GC) {
      gcRuns++
      await run(['store', 'gc', '--min-age', '0'])
    }
  }
  const builds = async (): Promise<void> => {
    for (let i = 1; i <= ROUNDS; i++) {
      await built.commit(`round ${i}`, {'src/data.txt': `built ${i}\n`})
      await run(['dimg', 'build', '--dir', built.dir])
    }
  }
  // the pulled project's blobs become garbage (flush) and are wanted again (pull, import) while gc sweeps
  const pulls = async (): Promise<void> => {
    for (let i = 0; i < ROUNDS; i++) {
      await run(['dimg', 'stages', 'flush', 'local', '--dir', pulled.dir])
      await run(['dimg', 'stages', 'pull', repo, '--all', '--dir', pulled.dir])
      await run(['image', 'pull', `${repo}/app:latest`, '--name', 'final'])
    }
  }
  const imports = async (): Promise<void> => {
    for (let i = 0; i < ROUNDS; i++) {
      await run(['dimg', 'build-context', 'import', '--dir', pulled.dir, '--build-context-directory', archiveDir])
    }
  }
  const gc = gcLoop()
  await Promise.all([builds(), pulls(), imports()])
  writersDone = true
  await gc

  const verify = await verifyHome(shared)
  expect({missing: verify.missing, corrupt: verify.corrupt, failures}).toEqual({missing: [], corrupt: [], failures: []})
  expect(verify.ok).toBe(true)
  expect(gcRuns).toBeGreaterThan(ROUNDS)
  // the last build's stage is whole: a build from it builds nothing and the image runs what was committed
  const again = await cli(shared, ['dimg', 'build', '--json', '--dir', built.dir])
  expect(again.code).toBe(0)
  expect(JSON.parse(again.stdout).built).toBe(0)
}, 180_000)
