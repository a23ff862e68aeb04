/**
 * Overlay mounts for stage roots: a stack of kept directories as the read-only lower layers, a fresh upper
 * directory that receives every write. Mounted by us (Debian's bubblewrap 0.8 has no --overlay) at a mount
 * point in the build's scratch area, so the sandbox binds it as the root and the host side (mount points,
 * git patches, imports, the layer writer) sees the same merged tree. Root only: an unprivileged process
 * cannot mount in the host's namespace; without overlay the caller copies or unpacks a root instead.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {SlipwayError} from '../errors.js'

/** The options that keep the upper directory plain: no redirects, no metacopy, no index of origins. */
const FIXED_OPTIONS = 'redirect_dir=off,metacopy=off,index=off,xino=off'

/** The kernel reads at most one page of mount options; stay well below it. */
const MAX_OPTIONS_LENGTH = 3800

/**
 * How many lower directories a mount may have before the stack is flattened (unpacked anew into one base):
 * far below the kernel's 500, to keep lookups cheap and the option string short.
 */
export const MAX_LOWER_DIRS = 16

export interface OverlayMount {
  merged: string
  upper: string
  work: string
}

const execFileAsync = promisify(execFile)

async function run(cmd: string, args: string[]): Promise<{code: number; stderr: string}> {
  try {
    await execFileAsync(cmd, args)
    return {code: 0, stderr: ''}
  } catch (e) {
    const err = e as {code?: number | string; stderr?: string; message: string}
    return {code: typeof err.code === 'number' ? err.code : -1, stderr: err.stderr ?? err.message}
  }
}

/** Overlay's option syntax has no escape for these in a path. */
function usablePath(p: string): boolean {
  return !/[,:\\\n]/.test(p)
}

function optionsFor(lowers: string[], upper: string, work: string): string {
  return `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},${FIXED_OPTIONS}`
}

/** Whether a stack of these lower dirs can be mounted as one overlay. */
export function mountableStack(lowers: string[], upper: string, work: string): boolean {
  return lowers.length <= MAX_LOWER_DIRS && [...lowers, upper, work].every(usablePath) && optionsFor(lowers, upper, work).length <= MAX_OPTIONS_LENGTH
}

/** Mounts `lowers` (topmost first) with `upper`/`work` (on one filesystem, under the kept roots) at `merged`. */
export async function mountOverlay(lowers: string[], upper: string, work: string, merged: string): Promise<OverlayMount> {
  if (!mountableStack(lowers, upper, work)) throw new SlipwayError('internal', `cannot mount an overlay of ${lowers.length} directories`)
  await mkdir(merged, {recursive: true})
  const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', optionsFor(lowers, upper, work), merged])
  if (r.code !== 0) {
    throw new SlipwayError('environment', `cannot mount the stage root as an overlay: ${r.stderr.trim() || `mount exited ${r.code}`}`, {
      hint: 'set SLIPWAY_OVERLAY=0 to build on copied roots instead',
    })
  }
  return {merged, upper, work}
}

export async function unmountOverlay(m: OverlayMount): Promise<void> {
  const r = await run('umount', ['--no-canonicalize', m.merged])
  if (r.code === 0) return
  const lazy = await run('umount', ['--no-canonicalize', '--lazy', m.merged])
  if (lazy.code !== 0) throw new SlipwayError('environment', `cannot unmount the stage root ${m.merged}: ${r.stderr.trim()}`, {hint: 'unmount it by hand and run `dimg cleanup`'})
}

const probes = new Map<string, Promise<boolean>>()

/**
 * Whether overlay roots can be used with kept directories under `keptDir` and mount points under `scratch`:
 * as root, with a kernel that mounts an overlay of a directory there (checked once per process), and not
 * turned off with SLIPWAY_OVERLAY=0.
 */
export function overlayAvailable(keptDir: string, scratch: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.SLIPWAY_OVERLAY === '0' || process.getuid?.() !== 0) return Promise.resolve(false)
  let probe = probes.get(keptDir)
  if (!probe) {
    probe = (async () => {
      const dir = join(keptDir, `probe-${process.pid}-${randomBytes(4).toString('hex')}`)
      const m = {lower: join(dir, 'lower'), upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(scratch, `probe-${randomBytes(4).toString('hex')}`)}
      try {
        if (!mountableStack([m.lower], m.upper, m.work)) return false
        for (const d of [m.lower, m.upper, m.work]) await mkdir(d, {recursive: true})
        await mountOverlay([m.lower], m.upper, m.work, m.merged)
        await unmountOverlay({merged: m.merged, upper: m.upper, work: m.work})
        return true
      } catch {
        return false
      } finally {
        await rm(dir, {recursive: true, force: true})
        await rm(m.merged, {recursive: true, force: true})
      }
    })()
    probes.set(keptDir, probe)
  }
  return probe
}
