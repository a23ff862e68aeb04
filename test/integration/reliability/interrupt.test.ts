/**
 * The graceful path of an interruption (kill-sample.test.ts covers SIGKILL): SIGINT, SIGTERM or SIGHUP during
 * a shell stage, a push or a pull stops the run promptly, removes what it unpacked or half wrote, releases
 * its lease and exits 128+signal with one line, leaving nothing for `dimg cleanup`.
 */
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSlipway, type RunningSlipway, startSlipway, type CliResult} from '../../helpers/cli.js'
import {match, startFaultProxy, type FaultProxy} from '../../helpers/fault-proxy.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {waitFor} from '../../helpers/wait.js'
import {verifyHome} from './support.js'

const SIGNAL_NUMBER = {SIGHUP: 1, SIGINT: 2, SIGTERM: 15} as const
type Signal = keyof typeof SIGNAL_NUMBER

/**
 * How long a run may take to end once signalled: one that ignored the signal is SIGKILLed then (and fails
 * its exit code). Counted from the signal, not from the start: getting to the interesting moment (a base
 * pulled and unpacked, a stage started, an upload under way) takes what a loaded machine makes it take.
 */
const STOP_LIMIT_MS = 20_000

/** Sends `signal` to the run; SIGKILLs it if it has not ended STOP_LIMIT_MS later. */
async function interrupt(run: RunningSlipway, signal: Signal): Promise<CliResult> {
  run.child.kill(signal)
  const limit = setTimeout(() => run.child.kill('SIGKILL'), STOP_LIMIT_MS)
  try {
    return await run.result
  } finally {
    clearTimeout(limit)
  }
}

const entries = (dir: string): Promise<string[]> => readdir(dir).catch(() => [] as string[])

/** Command lines of the host's processes that contain `text`. */
async function processesWith(text: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of (await readdir('/proc')).filter(n => /^\d+$/.test(n))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(text) && Number(pid) !== process.pid) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`)
  }
  return found
}

describe('an interrupted build, push or pull cleans up and exits 128+signal', () => {
  // one stage with a multi-MiB layer, built once, pushed and pulled through the stalling proxy
  const setup = useRegistry({base: true, project: {dappfile: `from: localhost:5000/base/busybox:latest
shell:
  install: ["head -c 6000000 /dev/urandom > /big"]
`}})
  let proxy: FaultProxy
  let tmpdir: string

  const envOf = (home: string): Record<string, string> => ({SLIPWAY_HOME: home, SLIPWAY_TMPDIR: tmpdir, ...setup.reg.env()})

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: `http://${setup.reg.host}`})
    tmpdir = await makeTempDir('interrupt-tmpdir')
    const built = await runSlipway(['dimg', 'build', '--dir', setup.project.dir], {env: envOf(setup.home)})
    if (built.code !== 0) throw new Error(`build failed: ${built.stderr}`)
    const pushed = await runSlipway(['dimg', 'stages', 'push', '--dir', setup.project.dir, `${setup.reg.host}/big`], {env: envOf(setup.home)})
    if (pushed.code !== 0) throw new Error(`stages push failed: ${pushed.stderr}`)
  }, 120_000)
  afterEach(() => proxy.clear())
  afterAll(async () => {
    await proxy?.stop()
    if (tmpdir) await removeTempDir(tmpdir)
  })

  /** What a clean interruption leaves: nothing in scratch, store tmp/ or leases/, a whole store, nothing for cleanup. */
  async function expectCleanInterruption(r: CliResult, signal: Signal, home: string): Promise<void> {
    expect({code: r.code, last: r.stderr.trim().split('\n').pop()}).toEqual({code: 128 + SIGNAL_NUMBER[signal], last: `slipway: interrupted (${signal}); cleaned up`})
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(await entries(tmpdir)).toEqual([])
    expect(await entries(join(home, 'store', 'tmp'))).toEqual([])
    expect(await entries(join(home, 'store', 'leases'))).toEqual([])
    const verify = await verifyHome(home)
    expect({ok: verify.ok, missing: verify.missing, corrupt: verify.corrupt}).toEqual({ok: true, missing: [], corrupt: []})
    const dry = await runSlipway(['dimg', 'cleanup', '--dry-run', '--json'], {env: envOf(home)})
    expect(dry.code).toBe(0)
    const report = JSON.parse(dry.stdout) as {buildDirs: string[]; gc: {removedTemp: string[]; removedBlobs: string[]}}
    expect({buildDirs: report.buildDirs, temp: report.gc.removedTemp, blobs: report.gc.removedBlobs}).toEqual({buildDirs: [], temp: [], blobs: []})
  }

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s during a shell stage running sleep: the sandbox and the unpacked root are gone', async signal => {
    const seconds = 3000 + SIGNAL_NUMBER[signal] // a command line no other process has
    const project = await makeProject({registryHost: setup.reg.host, dappfile: `from: localhost:5000/base/busybox:latest
shell:
  install: ["touch /started", "sleep ${seconds}"]
`})
    const home = setup.freshHome()
    const run = startSlipway(['dimg', 'build', '--dir', project.dir], {env: envOf(home)})
    await waitFor('the stage to start', async () => {
      for (const area of await entries(tmpdir)) {
        for (const dir of await entries(join(tmpdir, area))) {
          for (const root of await entries(join(tmpdir, area, dir))) {
            if ((await entries(join(tmpdir, area, dir, root))).includes('started')) return (await processesWith(`sleep\0${seconds}`)).length > 0
          }
        }
      }
      return false
    })
    const r = await interrupt(run, signal)
    await expectCleanInterruption(r, signal, home)
    expect(await processesWith(`sleep\0${seconds}`)).toEqual([])
    expect(await processesWith(tmpdir)).toEqual([])
  })

  it('SIGTERM during a push of a multi-MiB layer to a stalled registry', async () => {
    const stall = proxy.add(r => (r.method === 'PUT' || r.method === 'PATCH') && /\/blobs\/uploads\//.test(r.path), {kind: 'stall', ms: 120_000})
    const run = startSlipway(['dimg', 'stages', 'push', '--dir', setup.project.dir, `${proxy.host}/pushed`], {env: envOf(setup.home)})
    await waitFor('an upload to reach the stalled registry', () => stall.hits > 0)
    await expectCleanInterruption(await interrupt(run, 'SIGTERM'), 'SIGTERM', setup.home)
  })

  it.each(['SIGHUP', 'SIGINT'] as const)('%s during a pull of a big stage: no half-written blob is left in the store', async signal => {
    const home = setup.freshHome()
    proxy.add(match.blobGet, {kind: 'stall', ms: 120_000, afterBytes: 2 * 1024 * 1024})
    const run = startSlipway(['dimg', 'stages', 'pull', '--dir', setup.project.dir, `${proxy.host}/big`], {env: envOf(home)})
    await waitFor('a blob to be half written', async () => (await entries(join(home, 'store', 'tmp'))).some(n => n.startsWith('blob')))
    await expectCleanInterruption(await interrupt(run, signal), signal, home)
  })
})
