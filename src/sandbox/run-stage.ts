/** Runs a shell stage's commands inside a root filesystem: with bubblewrap in new user, mount, pid, ipc and
 *  uts namespaces, or with plain chroot where namespaces are forbidden.
 *
 *  Users: running as host root, the stage's user namespace maps every id to itself (user-namespace.ts), so
 *  files keep the owners the stage gives them, on disk and in the layer; root there has docker's default
 *  capabilities, which count only inside, and /proc and /sys are masked and read-only as docker has them
 *  (container-defaults.ts). A non-root image `User` runs as that uid in the same map, without
 *  capabilities. The kernel refuses device nodes in a user namespace (all but the 0:0 whiteout), so
 *  `mknod` fails where docker would make a node its device cgroup then forbids to open. Running
 *  unprivileged, one id is mapped (the requested one, to our own uid): every file the stage writes is
 *  owned by us on disk and `chown` to other ids fails — build as root for images that need several owners.
 *  Under bubblewrap, root or not, the stage's sync calls return at once without flushing (no-sync-filter.ts).
 *
 *  Chroot isolation gives no containment (root with every capability): a new pid namespace, when
 *  `unshare` can make one, ends the stage's processes with it; whatever is still running in the root
 *  afterwards is killed and everything mounted under it unmounted (root-release.ts). */
import {spawn, type ChildProcess} from 'node:child_process'
import {access, constants as fsConstants, lstat} from 'node:fs/promises'
import {delimiter, join} from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {SlipwayError} from '../errors.js'
import {abortError} from '../abort-error.js'
import {capabilityArgs, procAndSysArgs} from './container-defaults.js'
import {resolveImageUser} from './image-user.js'
import {noSyncFilter} from './no-sync-filter.js'
import {ensureMountPoint, removeMountPoint, type CreatedMountPoint} from './mount-points.js'
import {shellQuote} from './shell-quote.js'
import {killProcessesRootedIn, mountsUnder, unmountUnder} from './root-release.js'
import {BLOCK_FD, INFO_FD, killWaitingChild, setUpIdentityUserNamespace, userNamespaceArgs} from './user-namespace.js'

export type Isolation = 'namespaces' | 'chroot'

export interface SandboxMount {
  hostPath: string
  /** Absolute path inside the root. */
  path: string
  readOnly?: boolean
}

export interface RunStageOptions {
  root: string
  commands: string[]
  /** Image config `Env` (`KEY=value`). */
  env?: string[]
  /** Image config `User`. */
  user?: string
  /** Image config `WorkingDir`; created (owned by root) when missing. */
  workingDir?: string
  mounts?: SandboxMount[]
  isolation?: Isolation // default 'namespaces'
  hostname?: string
  /** Inherit stdin/stdout/stderr (for --introspect-error); no output callback then. */
  interactive?: boolean
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void
  log?: (msg: string) => void
  /** How many last output lines a failure keeps; default 50. */
  tailLines?: number
  /** Aborting kills the stage's whole process tree and removes its mounts; runStage then rejects with an
   *  error named 'AbortError'. */
  signal?: AbortSignal
}

/** A stage command exited non-zero. `exitCode` (the getter) is Slipway's own exit code for `build`. */
export class StageCommandError extends SlipwayError {
  constructor(readonly commandExitCode: number, readonly outputTail: string[]) {
    super('build', `stage command failed with exit code ${commandExitCode}`, {
      hint: outputTail.length ? `last output: ${outputTail[outputTail.length - 1]}` : undefined,
    })
  }
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const HOST_FILES = ['etc/resolv.conf', 'etc/hosts']
const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty']
/** After the handshake's INFO_FD and BLOCK_FD. */
const SECCOMP_FD = 5

async function findExecutable(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH || DEFAULT_PATH).split(delimiter).concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin'])) {
    const p = join(dir, name)
    if (await access(p, fsConstants.X_OK).then(() => true, () => false)) return p
  }
  return null
}

function isRoot(): boolean {
  return process.getuid?.() === 0
}

let namespaceCheck: Promise<string> | undefined

/** Path of a bwrap that can create the namespaces we need here, or an environment error saying what to do. */
export function checkNamespaceSandbox(): Promise<string> {
  if (namespaceCheck) return namespaceCheck
  const check = (async () => {
    const bwrap = await findExecutable('bwrap')
    if (!bwrap) {
      throw new SlipwayError('environment', 'bubblewrap (bwrap) is not installed; shell stages need it to run in namespaces', {
        hint: 'install it (apt-get install bubblewrap / dnf install bubblewrap) or use --isolation chroot as root',
      })
    }
    const args = ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true']
    const result = await collect(bwrap, args)
    if (result.code !== 0) {
      throw new SlipwayError('environment', `cannot create Linux namespaces for shell stages: ${result.stderr.trim().split('\n').pop() ?? 'bwrap failed'}`, {
        hint: 'allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0, or run as root) or use --isolation chroot as root',
      })
    }
    return bwrap
  })()
  namespaceCheck = check
  check.catch(() => (namespaceCheck = undefined))
  return check
}

function collect(cmd: string, args: string[]): Promise<{code: number; stderr: string}> {
  return new Promise(resolve => {
    const child = spawn(cmd, args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', e => resolve({code: -1, stderr: e.message}))
    child.on('close', code => resolve({code: code ?? -1, stderr}))
  })
}

function buildEnv(imageEnv: string[] | undefined, home: string, hostname: string): Record<string, string> {
  const env: Record<string, string> = {PATH: DEFAULT_PATH, HOSTNAME: hostname, HOME: home}
  for (const kv of imageEnv ?? []) {
    const i = kv.indexOf('=')
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return env
}

function stageScript(commands: string[], workingDir: string | undefined): string {
  const wd = workingDir && workingDir !== '/' ? workingDir : '/'
  const prelude = wd === '/' ? 'cd /' : `[ -d ${shellQuote(wd)} ] || mkdir -p -- ${shellQuote(wd)}\ncd -- ${shellQuote(wd)}`
  return `${prelude}\n${commands.join('\n')}\n`
}

interface Prepared {
  command: string
  args: string[]
  spawnIds?: {uid: number; gid: number}
  /** A seccomp program bwrap reads from fd {@link SECCOMP_FD}. */
  seccomp?: Buffer
  /** Talks to the started sandbox over its extra fds (3, 4) before it runs the commands. */
  handshake?: (info: Readable, block: Writable) => Promise<void>
  /** After the command's exit: ends what it left running (its pipes stay open while anything holds them). */
  afterExit: () => Promise<void>
  cleanup: () => Promise<void>
}

async function prepareMountPoints(root: string, isolation: Isolation, mounts: SandboxMount[], log?: (m: string) => void): Promise<{points: CreatedMountPoint[]; hostFiles: string[]}> {
  const points: CreatedMountPoint[] = []
  const withSys = isolation === 'namespaces' && isRoot()
  for (const dir of withSys ? ['proc', 'dev', 'tmp', 'sys'] : ['proc', 'dev', 'tmp']) {
    const p = await ensureMountPoint(root, dir, 'dir')
    if (!p) throw new SlipwayError('build', `/${dir} in the stage's root is not a directory; cannot run the stage there`)
    points.push(p)
  }
  const hostFiles: string[] = []
  for (const rel of HOST_FILES) {
    if (!(await lstat(`/${rel}`).catch(() => null))) continue
    const p = await ensureMountPoint(root, rel, 'file')
    if (p) {
      points.push(p)
      hostFiles.push(rel)
    } else {
      log?.(`/${rel} in the stage's root is a symlink or not a file; the host's is not mounted there`)
    }
  }
  for (const m of mounts) {
    const st = await lstat(m.hostPath).catch(() => null)
    if (!st) throw new SlipwayError('build', `mount source ${m.hostPath} does not exist`)
    const p = await ensureMountPoint(root, m.path, st.isDirectory() ? 'dir' : 'file')
    if (!p) throw new SlipwayError('build', `mount target ${m.path} passes through a symlink or a file in the stage's root`)
    points.push(p)
  }
  return {points, hostFiles}
}

async function prepareBwrap(o: RunStageOptions, uid: number, gid: number, hostname: string, hostFiles: string[]): Promise<Prepared> {
  const bwrap = await checkNamespaceSandbox()
  // /tmp is 1777 as in a container (bwrap's tmpfs is 0755 otherwise): apt's _apt user writes its temp files there
  const args = ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', hostname, '--bind', o.root, '/',
    '--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp']
  const prepared: Prepared = {command: bwrap, args, afterExit: async () => {}, cleanup: async () => {}}
  const filter = noSyncFilter()
  if (filter) {
    args.push('--seccomp', String(SECCOMP_FD))
    prepared.seccomp = filter
  }
  if (isRoot()) {
    args.push(...await procAndSysArgs(), ...userNamespaceArgs(), ...capabilityArgs(uid))
    let childPid: number | undefined
    prepared.handshake = (info, block) => setUpIdentityUserNamespace(info, block, pid => (childPid = pid))
    prepared.afterExit = async () => {
      if (childPid !== undefined) await killWaitingChild(childPid)
    }
    // bwrap starts as the stage's user: it owns the namespace then, and the stage gets no host groups
    if (uid !== 0 || gid !== 0) prepared.spawnIds = {uid, gid}
  } else {
    args.push('--unshare-user', '--uid', String(uid), '--gid', String(gid))
  }
  for (const rel of hostFiles) args.push('--ro-bind', `/${rel}`, `/${rel}`)
  for (const m of o.mounts ?? []) args.push(m.readOnly ? '--ro-bind' : '--bind', m.hostPath, m.path)
  args.push('--chdir', '/', '--', '/bin/sh', '-ec', stageScript(o.commands, o.workingDir))
  return prepared
}

async function mountCmd(args: string[]): Promise<string | null> {
  const r = await collect('mount', args)
  return r.code === 0 ? null : r.stderr.trim() || `mount ${args.join(' ')} failed`
}

let pidNamespaceCheck: Promise<string | null> | undefined

/** `unshare` when it can give a chroot stage its own pid and mount namespaces here, else null. */
function pidNamespaceRunner(): Promise<string | null> {
  pidNamespaceCheck ??= (async () => {
    const unshare = await findExecutable('unshare')
    if (!unshare) return null
    return (await collect(unshare, ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', 'true'])).code === 0 ? unshare : null
  })()
  return pidNamespaceCheck
}

async function prepareChroot(o: RunStageOptions, uid: number, gid: number, hostFiles: string[]): Promise<Prepared> {
  if (!isRoot()) throw new SlipwayError('environment', '--isolation chroot needs root', {hint: 'run as root, or use the default namespace isolation'})
  const chroot = await findExecutable('chroot')
  if (!chroot) throw new SlipwayError('environment', 'chroot is not installed', {hint: 'install coreutils'})
  const unshare = await pidNamespaceRunner()
  // Everything mounted under the root goes, ours and the stage's (in reverse order of mounting).
  const cleanup = (): Promise<void> => unmountUnder(o.root)
  const optional = async (args: string[], target: string): Promise<void> => {
    const err = await mountCmd([...args, target])
    if (err) o.log?.(`chroot isolation: ${target} not mounted (${err})`)
  }
  try {
    // In a pid namespace of its own, the stage's /proc shows only its processes (unshare mounts it there).
    if (!unshare) await optional(['-t', 'proc', 'proc'], join(o.root, 'proc'))
    await optional(['-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs'], join(o.root, 'tmp'))
    const dev = join(o.root, 'dev')
    await optional(['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs'], dev)
    if ((await mountsUnder(o.root, false)).includes(dev)) {
      for (const node of DEV_NODES) {
        const point = await ensureMountPoint(o.root, `dev/${node}`, 'file')
        if (point) await optional(['--bind', `/dev/${node}`], join(o.root, 'dev', node))
      }
    }
    for (const rel of hostFiles) await optional(['--bind', '-o', 'ro', `/${rel}`], join(o.root, rel))
    for (const m of o.mounts ?? []) {
      const target = join(o.root, m.path)
      const err = await mountCmd(['--bind', ...(m.readOnly ? ['-o', 'ro'] : []), m.hostPath, target])
      if (err) throw new SlipwayError('environment', `cannot bind-mount ${m.hostPath} to ${m.path} for chroot isolation: ${err}`)
    }
  } catch (e) {
    await cleanup()
    throw e
  }
  const inRoot = [`--userspec=${uid}:${gid}`, '--', o.root, '/bin/sh', '-ec', stageScript(o.commands, o.workingDir)]
  // --kill-child: when unshare dies (we killed it), the namespace's first process and so all of them die.
  const args = unshare
    ? ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', `--mount-proc=${join(o.root, 'proc')}`, '--', chroot, ...inRoot]
    : inRoot
  return {command: unshare ?? chroot, args, afterExit: async () => void (await killProcessesRootedIn(o.root)), cleanup}
}

function lineSplitter(onLine: (line: string) => void): {push: (d: Buffer) => void; flush: () => void} {
  let rest = ''
  return {
    push(d) {
      const text = rest + d.toString()
      const lines = text.split('\n')
      rest = lines.pop() ?? ''
      for (const l of lines) onLine(l)
    },
    flush() {
      if (rest) onLine(rest)
      rest = ''
    },
  }
}

/** Runs `/bin/sh -ec` over the commands in the root. Resolves when they succeed; a non-zero exit rejects
 *  with StageCommandError (exit code and last output lines). */
export async function runStage(o: RunStageOptions): Promise<void> {
  const isolation = o.isolation ?? 'namespaces'
  const hostname = o.hostname ?? 'slipway-build'
  const shell = await lstat(join(o.root, 'bin/sh')).catch(() => null)
  if (!shell) throw new SlipwayError('build', `the stage's root has no /bin/sh; shell stages need a shell in the image`)
  const user = await resolveImageUser(o.root, o.user)
  const env = buildEnv(o.env, user.home, hostname)
  // Like Docker's WORKDIR, a missing working directory is created (as root, kept in the layer).
  if (o.workingDir && o.workingDir !== '/') await ensureMountPoint(o.root, o.workingDir, 'dir')
  if (o.signal?.aborted) throw abortError(o.signal, 'the stage')
  const {points, hostFiles} = await prepareMountPoints(o.root, isolation, o.mounts ?? [], o.log)
  try {
    const prepared = isolation === 'chroot'
      ? await prepareChroot(o, user.uid, user.gid, hostFiles)
      : await prepareBwrap(o, user.uid, user.gid, hostname, hostFiles)
    try {
      await execute(prepared, env, o)
    } finally {
      await prepared.cleanup()
    }
  } finally {
    for (const p of points.reverse()) await removeMountPoint(o.root, p)
  }
}

function execute(p: Prepared, env: Record<string, string>, o: RunStageOptions): Promise<void> {
  if (o.signal?.aborted) return Promise.reject(abortError(o.signal, 'the stage'))
  const tailMax = o.tailLines ?? 50
  const tail: string[] = []
  const record = (line: string, stream: 'stdout' | 'stderr'): void => {
    tail.push(line)
    if (tail.length > tailMax) tail.shift()
    o.onOutput?.(line, stream)
  }
  return new Promise((resolve, reject) => {
    const stdio: Array<'inherit' | 'ignore' | 'pipe'> = o.interactive ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe']
    if (p.handshake || p.seccomp) stdio.push(p.handshake ? 'pipe' : 'ignore', p.handshake ? 'pipe' : 'ignore') // INFO_FD, BLOCK_FD
    if (p.seccomp) stdio.push('pipe') // SECCOMP_FD
    const child: ChildProcess = spawn(p.command, p.args, {env, stdio, ...(p.spawnIds ?? {})})
    let failure: Error | undefined
    const stop = (e: Error): void => {
      failure ??= e
      child.kill('SIGKILL') // the sandbox's processes die with it (--die-with-parent, --kill-child, afterExit)
    }
    const onAbort = (): void => stop(abortError(o.signal!, 'the stage'))
    o.signal?.addEventListener('abort', onAbort, {once: true})
    if (p.seccomp) ((child.stdio as readonly unknown[])[SECCOMP_FD] as Writable).on('error', (e: Error) => stop(e)).end(p.seccomp)
    if (p.handshake) p.handshake(child.stdio[INFO_FD] as Readable, child.stdio[BLOCK_FD] as Writable).catch((e: Error) => stop(e))
    const out = lineSplitter(l => record(l, 'stdout'))
    const err = lineSplitter(l => record(l, 'stderr'))
    child.stdout?.on('data', out.push)
    child.stderr?.on('data', err.push)
    let leftovers: Promise<void> = Promise.resolve()
    child.once('exit', () => {
      leftovers = p.afterExit().catch((e: Error) => void (failure ??= e))
    })
    child.on('error', e => {
      o.signal?.removeEventListener('abort', onAbort)
      reject(new SlipwayError('environment', `cannot start ${p.command}: ${e.message}`, {cause: e}))
    })
    child.on('close', (code, signal) => {
      out.flush()
      err.flush()
      void leftovers.then(() => {
        o.signal?.removeEventListener('abort', onAbort)
        if (failure) return reject(failure)
        if (code === 0) return resolve()
        const exit = code ?? 128 + (signal ? ({SIGKILL: 9, SIGTERM: 15, SIGINT: 2} as Record<string, number>)[signal] ?? 0 : 0)
        reject(new StageCommandError(exit, [...tail]))
      })
    })
  })
}
