import {type ChildProcess, spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {makeTempDirSync, removeTempDir} from './tmp.js'

export const REPO_ROOT = resolve(new URL('../..', import.meta.url).pathname)
export const SLIPWAY_BIN = join(REPO_ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
}

/** The built CLI running as a child process: signal it through `child`, await its end through `result`. */
export interface RunningSlipway {
  child: ChildProcess
  result: Promise<CliResult>
}

/** Starts the built CLI (`npm run build` first) as a child process, the way a user would. */
export function startSlipway(args: string[], opts: CliOptions = {}): RunningSlipway {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...opts.env}
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  const child = spawn(process.execPath, [SLIPWAY_BIN, ...args], {cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe']})
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({code: code ?? (signal ? 128 : 1), stdout, stderr})
    })
  })
  child.stdin!.end(opts.input ?? '')
  return {child, result}
}

/** Runs the built CLI (`npm run build` first) as a child process, the way a user would. */
export function runSlipway(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startSlipway(args, opts).result
}

/** A fresh SLIPWAY_HOME, i.e. a fresh "host" with an empty store. */
export function freshHome(prefix = 'home'): string {
  return makeTempDirSync(prefix)
}

/** Fresh homes for a test file: `home()` makes one, `removeAll()` (in afterAll) removes every one made. */
export function freshHomes(): {home: () => string; removeAll: () => Promise<void>} {
  const made: string[] = []
  return {
    home: () => {
      const h = freshHome()
      made.push(h)
      return h
    },
    removeAll: async () => {
      for (const h of made.splice(0)) await removeTempDir(h)
    },
  }
}

/** The CLI on a real terminal: what it wrote there, escape sequences and all. */
export interface TerminalRun {
  /** The CLI's process id, once it started (to signal it as a terminal's Ctrl-C would). */
  pid: Promise<number>
  /** What the terminal got so far. */
  screen(): Promise<string>
  result: Promise<{code: number; transcript: string}>
}

/**
 * Runs the built CLI on a pseudo-terminal of 120x40 through script(1) (util-linux), with TERM=xterm-256color
 * and neither NO_COLOR nor CI unless `env` sets them; stdout and stderr both go to the terminal.
 */
export function startSlipwayInTerminal(args: string[], opts: CliOptions = {}): TerminalRun {
  const dir = makeTempDirSync('tty')
  const transcript = join(dir, 'transcript')
  const pidFile = join(dir, 'pid')
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const command = `stty cols 120 rows 40; echo $$ > ${quote(pidFile)}; exec ${[process.execPath, SLIPWAY_BIN, ...args].map(quote).join(' ')}`
  const env: NodeJS.ProcessEnv = {...process.env, TERM: 'xterm-256color', NO_COLOR: undefined, CI: undefined, ...opts.env}
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  const child = spawn('script', ['-qfec', command, transcript], {cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe']})
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
  let closed = false
  const result = new Promise<{code: number; transcript: string}>((resolvePromise, reject) => {
    child.on('error', reject)
    child.on('close', async code => {
      closed = true
      clearTimeout(timer)
      try {
        resolvePromise({code: code ?? 128, transcript: await readFile(transcript, 'utf8')})
      } catch (e) {
        reject(e)
      } finally {
        await removeTempDir(dir)
      }
    })
  })
  const pid = (async () => {
    while (!closed) {
      const text = await readFile(pidFile, 'utf8').catch(() => '')
      if (text.trim()) return Number(text.trim())
      await new Promise(r => setTimeout(r, 50))
    }
    throw new Error('the CLI ended before its pid was read')
  })()
  pid.catch(() => {})
  return {pid, result, screen: () => readFile(transcript, 'utf8').catch(() => '')}
}
