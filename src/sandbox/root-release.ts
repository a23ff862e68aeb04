/**
 * Takes back a directory a chroot stage used: ends every process whose root is in it (a chroot leaves no
 * other mark on a process; daemons have left the stage's process group and session) and removes every mount
 * under it, deepest first. Used after each chroot stage and by `dimg cleanup` on what a crash left.
 */
import {spawn} from 'node:child_process'
import {readdir, readFile, readlink} from 'node:fs/promises'
import {resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {SlipwayError} from '../errors.js'

function isInside(path: string, dir: string, includeDir: boolean): boolean {
  // never the host's root: every process and mount would match
  if (!dir.startsWith('/') || dir.replace(/\/+$/, '') === '') throw new SlipwayError('internal', `not a directory to release: "${dir}"`)
  return path.startsWith(`${dir}/`) || (includeDir && path === dir)
}

/** Pids of processes whose root directory is `dir` or below it. */
export async function processesRootedIn(dir: string): Promise<number[]> {
  dir = resolve(dir)
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const root = await readlink(`/proc/${name}/root`).catch(() => null) // gone, a zombie, or not ours to see
    if (root !== null && isInside(root.replace(/ \(deleted\)$/, ''), dir, true)) pids.push(Number(name))
  }
  return pids
}

/** SIGKILLs those processes until none is left (a process may fork while we look). */
export async function killProcessesRootedIn(dir: string): Promise<number> {
  let killed = 0
  for (let round = 0; round < 200; round++) {
    const pids = await processesRootedIn(dir)
    if (pids.length === 0) return killed
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
        killed++
      } catch {
        // already gone
      }
    }
    await sleep(round < 10 ? 5 : 50)
  }
  throw new SlipwayError('environment', `processes running in ${dir} survive SIGKILL`, {hint: 'end them (see /proc/*/root) and run `dimg cleanup`'})
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/** Mount points below `dir` (and `dir` itself when `includeDir`), deepest first. */
export async function mountsUnder(dir: string, includeDir = false): Promise<string[]> {
  dir = resolve(dir)
  const points = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(Boolean)
    .map(line => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter(p => isInside(p, dir, includeDir))
  return points.map((p, i) => ({p, i, depth: p.split('/').length}))
    .sort((a, b) => b.depth - a.depth || b.i - a.i)
    .map(x => x.p)
}

function umount(args: string[]): Promise<string | null> {
  return new Promise(resolve => {
    const child = spawn('umount', args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', e => resolve(e.message))
    child.on('close', code => resolve(code === 0 ? null : stderr.trim() || `umount exited ${code}`))
  })
}

/** Unmounts everything below `dir` (and `dir` itself when `includeDir`); a mount still busy is detached lazily. */
export async function unmountUnder(dir: string, includeDir = false): Promise<void> {
  let last = ''
  for (let round = 0; round < 20; round++) {
    const points = await mountsUnder(dir, includeDir)
    if (points.length === 0) return
    for (const point of points) {
      // --no-canonicalize: the path is the kernel's own; do not resolve it again through the stage's symlinks
      const err = await umount(['--no-canonicalize', point])
      if (err) last = (await umount(['--no-canonicalize', '--lazy', point])) ?? last
    }
  }
  throw new SlipwayError('environment', `cannot unmount what is mounted under ${dir}${last ? ` (${last})` : ''}`, {hint: 'unmount it by hand (see /proc/self/mountinfo) and run `dimg cleanup`'})
}

/** Processes first: a live process can mount again, and keeps its mounts busy. */
export async function releaseRoot(dir: string, includeDir = false): Promise<void> {
  await killProcessesRootedIn(dir)
  await unmountUnder(dir, includeDir)
}
