import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {isPidAlive} from '../fs-atomic.js'
import {releaseRoot} from '../sandbox/root-release.js' // not sandbox/index: `dimg cleanup` loads no stage runner
import type {GcResult} from '../store/index.js'
import type {WorkflowContext} from './context.js'
import {removeStaleKeptRoots} from '../roots/kept-roots-gc.js'
import {existingScratchBase, removeScratchBaseIfEmpty, SCRATCH_PREFIX} from '../roots/scratch.js'

export interface LeftoversResult {
  /** Temporary build directories of processes that are gone. */
  buildDirs: string[]
  gc: GcResult
  /** Kept stage roots no image in the store stands on any more. */
  keptRoots: string[]
  dryRun: boolean
}

/** Unreferenced blobs younger than this stay: a build or pull may be about to reference them. */
const BLOB_GRACE_MS = 60_000

/**
 * `dimg cleanup`: what killed builds left behind — their temporary root filesystems (with the processes
 * and mounts a crashed stage left in them), half-written blobs and blobs nothing references. Directories of live processes, leased blobs and very young blobs are left
 * alone, so builds running at the same time are not disturbed.
 */
export async function cleanupLeftovers(ctx: WorkflowContext, opts: {dryRun?: boolean} = {}): Promise<LeftoversResult> {
  // never through a planted symlink or another user's directory: that would remove what they point at
  const base = await existingScratchBase(ctx.home, ctx.env)
  const names = base ? await readdir(base).catch(() => [] as string[]) : []
  const buildDirs: string[] = []
  for (const name of names) {
    const m = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(name)
    if (!m || isPidAlive(Number(m[1]))) continue
    const dir = join(base!, name)
    buildDirs.push(dir)
    if (opts.dryRun) continue
    // A crashed chroot stage may have left processes in its root and mounts (/proc, binds of host
    // directories) that a recursive delete would walk into.
    await releaseRoot(dir, true)
    await rm(dir, {recursive: true, force: true, maxRetries: 3})
  }
  if (base && !opts.dryRun) await removeScratchBaseIfEmpty(base)
  const store = await ctx.store()
  const gc = await store.gc({dryRun: opts.dryRun, blobMinAgeMs: BLOB_GRACE_MS, tempMaxAgeMs: 0})
  const keptRoots = await removeStaleKeptRoots(ctx.home, store, opts)
  return {buildDirs, gc, keptRoots, dryRun: opts.dryRun ?? false}
}
