// Crash-safety stress: runs a slipway command, kills it with SIGKILL at a random moment, then checks
//   1. `slipway store verify` is clean on the killed host's store,
//   2. every tag in the registry repository has its manifest and all its blobs,
//   3. re-running the same command exits 0 and finishes the job (store and registry still whole).
//
//   node test/stress/kill-stress.mjs [--trials N] [--command build|push|pull|cleanup|import|all] [--seed S] [--json]
//
// Needs the built CLI (`npm run build`). Starts its own registry (docker-registry) on 127.0.0.1 and
// prints one summary line per command:
//   build: trials=50 kills=47 verify-failures=0 registry-failures=0 incomplete-reruns=0
// It exits 1 when any check failed.
import {spawn} from 'node:child_process'
import {cp, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import '../helpers/ts-loader.mjs'

const helpers = new URL('../helpers/', import.meta.url)
const {startRegistry} = await import(new URL('registry.ts', helpers).href)
const {pushBaseImage} = await import(new URL('base-image.ts', helpers).href)
const {makeProject} = await import(new URL('project.ts', helpers).href)
const {REPO_ROOT} = await import(new URL('cli.ts', helpers).href)
const {makeTempDir} = await import(new URL('tmp.ts', helpers).href)
const {access, symlink} = await import('node:fs/promises')

/**
 * A private copy of the built CLI: a long run must not see dist/ half-rebuilt by `npm run build`
 * running elsewhere in the tree (a missing module would count as a failed trial).
 */
async function snapshotCli() {
  const dir = await makeTempDir('stress-cli')
  for (let attempt = 0; ; attempt++) {
    try {
      await access(join(REPO_ROOT, '.oclif.manifest.json'))
      await cp(join(REPO_ROOT, 'dist'), join(dir, 'dist'), {recursive: true})
      await access(join(dir, 'dist', 'slipway.cjs'))
      break
    } catch (e) {
      if (attempt >= 20) throw new Error(`no complete build in ${REPO_ROOT}/dist: run npm run build (${e})`)
      await rm(join(dir, 'dist'), {recursive: true, force: true})
      await new Promise(r => setTimeout(r, 3000))
    }
  }
  for (const f of ['bin', 'package.json', '.oclif.manifest.json']) await cp(join(REPO_ROOT, f), join(dir, f), {recursive: true})
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'))
  return join(dir, 'bin', 'run.js')
}
const SLIPWAY_BIN = await snapshotCli()

// ---- arguments ----
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? dflt : argv[i + 1]
}
const trials = Number(opt('trials', '50'))
const which = opt('command', 'all')
const asJson = argv.includes('--json')
let seed = Number(opt('seed', String(Date.now() % 1_000_000)))
/** mulberry32: a seeded PRNG, so a failing run can be replayed with --seed. */
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const startSeed = seed

// ---- running slipway ----
/** Runs slipway; `killAfterMs` sends SIGKILL then. Resolves {code, killed, stdout, stderr, ms}. */
function slipway(args, home, killAfterMs) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [SLIPWAY_BIN, ...args], {env: {...process.env, SLIPWAY_HOME: home, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout.setEncoding('utf8').on('data', d => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', d => (stderr += d))
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
      killed = child.exitCode === null && child.signalCode === null
      child.kill('SIGKILL')
    }, killAfterMs)
    const guard = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(guard)
      resolve({code: code ?? 128, signal, killed: killed && signal === 'SIGKILL', stdout, stderr, ms: Date.now() - started})
    })
  })
}

async function must(args, home) {
  const r = await slipway(args, home)
  if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r
}

async function verifyStore(home) {
  const r = await slipway(['store', 'verify', '--json'], home)
  return r.code === 0 ? undefined : `store verify exited ${r.code}: ${(r.stdout + r.stderr).slice(0, 600)}`
}

// ---- the registry's side ----
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ')

async function repositories(reg) {
  const r = await fetch(`${reg.url}/v2/_catalog?n=10000`)
  return (await r.json()).repositories ?? []
}

/** Problems with the tags of every repository below `prefix`: a tag without manifest, a manifest without blobs. */
async function checkRegistry(reg, prefix) {
  const problems = []
  for (const repo of (await repositories(reg)).filter(r => r === prefix || r.startsWith(`${prefix}/`))) {
    const list = await fetch(`${reg.url}/v2/${repo}/tags/list`)
    if (list.status === 404) continue
    for (const tag of (await list.json()).tags ?? []) {
      const check = async reference => {
        const m = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {headers: {accept: MANIFEST_TYPES}})
        if (m.status !== 200) return problems.push(`${repo}:${tag}: manifest ${reference} answers ${m.status}`)
        const doc = await m.json()
        for (const child of doc.manifests ?? []) await check(child.digest)
        for (const d of [doc.config, ...(doc.layers ?? [])].filter(Boolean)) {
          const b = await fetch(`${reg.url}/v2/${repo}/blobs/${d.digest}`, {method: 'HEAD'})
          if (b.status !== 200) problems.push(`${repo}:${tag}: blob ${d.digest} answers ${b.status}`)
        }
      }
      await check(tag)
    }
  }
  return problems
}

// ---- the scenarios ----
const DAPPFILE = `
from: localhost:5000/base/busybox:latest
git:
  - add: /src
    to: /app
    stageDependencies:
      install: ['*']
shell:
  beforeInstall:
    - echo before > /before
  install:
    - mkdir -p /opt/app && cp -r /app/. /opt/app/
    - dd if=/dev/urandom of=/opt/noise bs=1024 count=768 2>/dev/null
  setup:
    - echo setup > /setup
docker:
  CMD: ["/bin/sh", "-c", "cat /before /setup"]
`

async function fixtures(reg) {
  await pushBaseImage(reg)
  const work = await makeTempDir('stress')
  // two checkouts of one project ("app"): v1 and v2 differ in a file that install depends on
  const v1 = await makeProject({registryHost: reg.host, dappfile: DAPPFILE, files: {'src/version.txt': 'v1\n'}})
  const v2 = await makeProject({registryHost: reg.host, dappfile: DAPPFILE, files: {'src/version.txt': 'v1\n'}})
  await v2.commit('v2', {'src/version.txt': 'v2\n'})
  // a host that built v1 and v2
  const built = join(work, 'built')
  await must(['dimg', 'build', '--dir', v1.dir], built)
  await must(['dimg', 'build', '--dir', v2.dir], built)
  // the stages and final image of v2 in a registry repository, for pulls
  const pulled = `${reg.host}/stress/pull`
  await must(['dimg', 'push', '--with-stages', pulled, '--dir', v2.dir], built)
  // v2's stages cache and build directory as archives, for imports
  const archives = join(work, 'archives')
  await must(['dimg', 'build-context', 'export', '--build-context-directory', archives, '--dir', v2.dir], built)
  return {work, v1, v2, built, pulled, archives}
}

let n = 0
const copyHome = async (from, work) => {
  const to = join(work, `home-${++n}`)
  if (from) await cp(from, to, {recursive: true})
  return to
}

/** Each command: `prepare` makes one trial's host (and registry state), `run` gives its argv. */
const COMMANDS = {
  build: {
    prepare: async f => ({home: await copyHome(undefined, f.work), prefix: undefined}),
    args: (f, t) => ['dimg', 'build', '--dir', f.v2.dir],
    after: async (f, t) => {
      // the job is finished: a further build has nothing left to do
      const r = await must(['dimg', 'build', '--dir', f.v2.dir, '--json'], t.home)
      const built = JSON.parse(r.stdout).built
      return built === 0 ? undefined : `a build after the re-run still built ${built} stages`
    },
  },
  push: {
    prepare: async (f, reg) => ({home: await copyHome(f.built, f.work), prefix: `stress/push-${n}`}),
    args: (f, t, reg) => ['dimg', 'push', '--with-stages', `${reg.host}/${t.prefix}`, '--dir', f.v2.dir],
    after: async (f, t, reg) => {
      const r = await fetch(`${reg.url}/v2/${t.prefix}/manifests/latest`, {method: 'HEAD', headers: {accept: MANIFEST_TYPES}})
      return r.status === 200 ? undefined : `the final image ${t.prefix}:latest is missing after the re-run`
    },
  },
  pull: {
    prepare: async f => ({home: await copyHome(undefined, f.work), prefix: 'stress/pull'}),
    args: f => ['dimg', 'stages', 'pull', f.pulled, '--dir', f.v2.dir],
    after: async (f, t) => {
      const r = await must(['dimg', 'build', '--dir', f.v2.dir, '--json'], t.home)
      const built = JSON.parse(r.stdout).built
      return built === 0 ? undefined : `a build after the pull re-run still built ${built} stages`
    },
  },
  cleanup: {
    // Half the trials clean a host's store (v1's stages are used by no final image), half a registry
    // repository seeded with v1's stages and v2's final image.
    prepare: async (f, reg) => {
      const home = await copyHome(f.built, f.work)
      const prefix = `stress/cleanup-${n}`
      if (n % 2 === 0) {
        await must(['dimg', 'push', '--with-stages', `${reg.host}/${prefix}`, '--dir', f.v1.dir], home)
        await must(['dimg', 'push', '--with-stages', `${reg.host}/${prefix}`, '--dir', f.v2.dir], home)
        return {home, prefix, where: 'repo'}
      }
      await must(['dimg', 'push', `${reg.host}/${prefix}`, '--dir', f.v2.dir], home)
      return {home, prefix, where: 'local'}
    },
    args: (f, t, reg) => t.where === 'repo'
      ? ['dimg', 'stages', 'cleanup', 'repo', `${reg.host}/${t.prefix}`, '--improper-repo-cache', '--keep-younger-than', '0', '--dir', f.v2.dir]
      : ['dimg', 'stages', 'cleanup', 'local', `${reg.host}/${t.prefix}`, '--improper-repo-cache', '--dir', f.v2.dir],
    after: async (f, t, reg) => {
      // what v2's final image uses is still there: the stages pull + build of v2 builds nothing
      const fresh = await copyHome(undefined, f.work)
      const source = t.where === 'repo' ? `${reg.host}/${t.prefix}` : undefined
      if (source) await must(['dimg', 'stages', 'pull', source, '--dir', f.v2.dir], fresh)
      const r = await must(['dimg', 'build', '--dir', f.v2.dir, '--json'], source ? fresh : t.home)
      const built = JSON.parse(r.stdout).built
      return built === 0 ? undefined : `v2's stages were lost by the cleanup: a build rebuilt ${built}`
    },
  },
  import: {
    prepare: async f => ({home: await copyHome(undefined, f.work), prefix: undefined}),
    args: f => ['dimg', 'build-context', 'import', '--build-context-directory', f.archives, '--dir', f.v2.dir],
    after: async (f, t) => {
      const r = await must(['dimg', 'build', '--dir', f.v2.dir, '--json'], t.home)
      const built = JSON.parse(r.stdout).built
      return built === 0 ? undefined : `a build after the import re-run still built ${built} stages`
    },
  },
}

async function runTrials(name, f, reg) {
  const cmd = COMMANDS[name]
  // calibration: how long one uninterrupted run takes
  const c = await cmd.prepare(f, reg)
  const full = await slipway(cmd.args(f, c, reg), c.home)
  if (full.code !== 0) throw new Error(`${name}: the uninterrupted run failed: ${full.stderr}`)
  const stats = {command: name, trials: 0, kills: 0, finishedBeforeKill: 0, verifyFailures: 0, registryFailures: 0, incompleteReruns: 0, fullRunMs: full.ms, failures: []}
  for (let i = 0; i < trials; i++) {
    const t = await cmd.prepare(f, reg)
    const killAt = Math.round(random() * full.ms)
    const r = await slipway(cmd.args(f, t, reg), t.home, killAt)
    stats.trials++
    if (r.killed) stats.kills++
    else stats.finishedBeforeKill++
    const fail = (kind, detail) => {
      stats[kind]++
      stats.failures.push(`trial ${i} (kill at ${killAt} ms): ${detail}`)
    }
    if (!r.killed && r.code !== 0) fail('incompleteReruns', `the run itself failed with ${r.code}: ${r.stderr.trim().split('\n').at(-1)}`)
    const v = await verifyStore(t.home)
    if (v) fail('verifyFailures', `after the kill: ${v}`)
    const reg1 = t.prefix ? await checkRegistry(reg, t.prefix) : []
    if (reg1.length) fail('registryFailures', `after the kill: ${reg1.join('; ')}`)
    const again = await slipway(cmd.args(f, t, reg), t.home)
    if (again.code !== 0) fail('incompleteReruns', `re-run exited ${again.code}: ${again.stderr.trim().split('\n').at(-1)}`)
    else {
      const after = await cmd.after(f, t, reg).catch(e => String(e))
      if (after) fail('incompleteReruns', after)
    }
    const v2 = await verifyStore(t.home)
    if (v2) fail('verifyFailures', `after the re-run: ${v2}`)
    const reg2 = t.prefix ? await checkRegistry(reg, t.prefix) : []
    if (reg2.length) fail('registryFailures', `after the re-run: ${reg2.join('; ')}`)
    await rm(t.home, {recursive: true, force: true})
  }
  return stats
}

const names = which === 'all' ? ['build', 'push', 'pull', 'cleanup', 'import'] : which.split(',')
for (const name of names) if (!COMMANDS[name]) throw new Error(`unknown --command ${name} (build, push, pull, cleanup, import, all)`)
const reg = await startRegistry('plain')
let failed = false
try {
  const f = await fixtures(reg)
  const results = []
  for (const name of names) {
    const s = await runTrials(name, f, reg)
    results.push(s)
    failed ||= s.verifyFailures + s.registryFailures + s.incompleteReruns > 0
    if (!asJson) {
      console.log(`${name}: trials=${s.trials} kills=${s.kills} finished-before-kill=${s.finishedBeforeKill} verify-failures=${s.verifyFailures} registry-failures=${s.registryFailures} incomplete-reruns=${s.incompleteReruns} (full run ${s.fullRunMs} ms, seed ${startSeed})`)
      for (const line of s.failures) console.log(`  ${line}`)
    }
  }
  if (asJson) console.log(JSON.stringify({seed: startSeed, results}))
} finally {
  await reg.stop()
}
process.exit(failed ? 1 : 0)
