import {execFile, spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeTempDir, removeTempDir} from './tmp.js'

const run = promisify(execFile)

/** The parts of the OCI runtime config (umoci's config.json) a run needs. */
interface RuntimeProcess {
  user: {uid: number; gid: number}
  args?: string[]
  env?: string[]
  cwd?: string
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface UnpackedImage {
  /** umoci's bundle directory (config.json, rootfs/). */
  bundle: string
  rootfs: string
  /** The runtime process umoci derived from the image config (Entrypoint + Cmd, Env, User, WorkingDir). */
  process: RuntimeProcess
  /** Runs `args` (default: the image's Entrypoint + Cmd) in the rootfs with bwrap, as the image's user, with its env and workdir. */
  run(args?: string[]): Promise<RunResult>
  remove(): Promise<void>
}

/** Unpacks image `name` of the OCI layout `store` with umoci (an independent reader of what slipway wrote). */
export async function unpackImage(store: string, name: string): Promise<UnpackedImage> {
  const dir = await makeTempDir('unpacked')
  const bundle = join(dir, 'bundle')
  try {
    await run('umoci', ['unpack', '--rootless', '--image', `${store}:${name}`, bundle], {maxBuffer: 16 * 1024 * 1024})
  } catch (error) {
    await removeTempDir(dir)
    throw new Error(`umoci unpack ${store}:${name} failed: ${(error as {stderr?: string}).stderr?.trim() || String(error)}`)
  }
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {process: RuntimeProcess}
  const rootfs = join(bundle, 'rootfs')
  return {
    bundle,
    rootfs,
    process: config.process,
    run: args => runInRoot(rootfs, config.process, args),
    remove: () => removeTempDir(dir),
  }
}

/** Unpacks, runs once, removes; returns stdout and throws (with stderr) on a non-zero exit. */
export async function runImage(store: string, name: string, args?: string[]): Promise<string> {
  const image = await unpackImage(store, name)
  try {
    const result = await image.run(args)
    if (result.code !== 0) throw new Error(`${name} exited with ${result.code}: ${result.stderr.trim()}`)
    return result.stdout
  } finally {
    await image.remove()
  }
}

function runInRoot(rootfs: string, proc: RuntimeProcess, args = proc.args ?? []): Promise<RunResult> {
  if (args.length === 0) throw new Error('the image has neither Entrypoint nor Cmd and no command was given')
  const bwrapArgs = [
    '--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net',
    '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--clearenv', '--chdir', proc.cwd ?? '/',
  ]
  for (const kv of proc.env ?? []) {
    const i = kv.indexOf('=')
    if (i > 0) bwrapArgs.push('--setenv', kv.slice(0, i), kv.slice(i + 1))
  }
  if (proc.user.uid !== 0 || proc.user.gid !== 0) bwrapArgs.push('--unshare-user', '--uid', String(proc.user.uid), '--gid', String(proc.user.gid))
  bwrapArgs.push('--', ...args)
  return new Promise((resolve, reject) => {
    const child = spawn('bwrap', bwrapArgs, {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve({code: code ?? 128, stdout, stderr})
    })
  })
}
