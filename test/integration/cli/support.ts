import {execFile, spawn} from 'node:child_process'
import {chmod, chown, copyFile, mkdir, readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {parse} from 'yaml'

import {REPO_ROOT} from '../../helpers/cli.js'

/**
 * Simulated CI runners for the README's job examples: the service's predefined variables, its checkout,
 * its shell and an unprivileged user (uid 65534), so that the jobs run here exactly as written in the
 * README. What a simulation cannot do on this machine (sudo on the host, the service's own actions) is
 * named where it happens.
 */
const exec = promisify(execFile)
export const RUNNER_UID = 65534

/** The YAML block of the README whose first line is `# NAME`. */
export async function readmeJobFile(name: string): Promise<Record<string, unknown>> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
  const found = blocks.filter((b) => b.split('\n', 1)[0] === `# ${name}`)
  if (found.length !== 1) throw new Error(`README.md has ${found.length} yaml blocks starting with "# ${name}"`)
  return parse(found[0]!) as Record<string, unknown>
}

/** A directory the runner user owns (its home, workspace, tool cache). */
export async function runnerDir(path: string): Promise<string> {
  await mkdir(path, {recursive: true})
  await chown(path, RUNNER_UID, RUNNER_UID)
  return path
}

/** Makes `dir` and its parents up to `/` traversable for the runner user. */
export async function openPathTo(dir: string): Promise<void> {
  for (let d = dir; d !== '/'; d = dirname(d)) {
    if (d === '/tmp') break
    await chmod(d, 0o755)
  }
}

/** `npm pack` of this checkout: the package a job installs, as a release would ship it. */
export async function packSlipway(dir: string): Promise<string> {
  const {stdout} = await exec('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], {cwd: REPO_ROOT})
  const file = join(dir, stdout.trim().split('\n').at(-1)!)
  await chmod(file, 0o644)
  return file
}

/** A copy of `file` the runner user can read (CA certificates). */
export async function readableCopy(file: string, dir: string): Promise<string> {
  const target = join(dir, file.split('/').at(-1)!)
  await copyFile(file, target)
  await chmod(target, 0o644)
  return target
}

/** A clone of the project as the runner fetches it; `depth` 0 is the whole history. Owned by the runner user. */
export async function checkout(sourceRepo: string, workspace: string, depth: number, how: {detach?: string; branch?: string}): Promise<void> {
  await exec('git', ['clone', '-q', '--no-checkout', ...(depth > 0 ? ['--depth', String(depth)] : []), `file://${sourceRepo}`, workspace])
  if (how.detach) await exec('git', ['-C', workspace, 'checkout', '-f', '-q', how.detach])
  if (how.branch) await exec('git', ['-C', workspace, 'checkout', '-f', '-q', '-B', how.branch, `origin/${how.branch}`])
  await exec('chown', ['-R', `${RUNNER_UID}:${RUNNER_UID}`, workspace])
}

export interface StepResult {
  code: number
  output: string
}

/** Runs a script with bash as the runner user, in `cwd`, with exactly `env` (nothing of the test's own). */
export function runAsRunner(bashArgs: string[], script: string, cwd: string, env: Record<string, string>): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', 'bash', ...bashArgs, '-c', script], {
      cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code: code ?? 1, output}))
  })
}

/** What every simulated runner has on PATH: this Node.js 20 and the system's tools. */
export function baseRunnerEnv(home: string): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    USER: 'runner',
  }
}

/** `${{ a.b }}` expressions of a GitHub Actions value, from the given contexts; an unknown one is an error. */
export function githubExpression(value: string, contexts: Record<string, Record<string, string>>): string {
  return value.replace(/\$\{\{\s*([a-z_]+)\.([A-Za-z_]+)\s*\}\}/g, (whole, ctx: string, key: string) => {
    const v = contexts[ctx]?.[key]
    if (v === undefined) throw new Error(`the simulated runner does not know ${whole}`)
    return v
  })
}
