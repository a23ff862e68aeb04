import {lstat, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {isErrno, isPidAlive, tempOwnerPid} from '../fs-atomic.js'
import type {StorePaths} from './paths.js'

export interface TempFile {
  /** Name inside the store's `tmp/` directory. */
  name: string
  size: number
  ageMs: number
  /** The writer's pid, when the name records it. */
  ownerPid?: number
  /** Whether that writer still runs on this host. */
  ownerAlive: boolean
}

/** Files in `tmp/`: blobs and index/lease files being written, or left behind by killed writers. */
export async function listTempFiles(paths: StorePaths, now = Date.now()): Promise<TempFile[]> {
  let names: string[]
  try {
    names = await readdir(paths.tmpDir)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return []
    throw e
  }
  const out: TempFile[] = []
  for (const name of names) {
    try {
      const st = await lstat(join(paths.tmpDir, name))
      const ownerPid = tempOwnerPid(name)
      out.push({name, size: st.size, ageMs: Math.max(0, now - st.mtimeMs), ownerPid, ownerAlive: ownerPid !== undefined && isPidAlive(ownerPid)})
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e // finished and renamed meanwhile
    }
  }
  return out
}

export interface CleanupTempOptions {
  /** Remove temp files not modified for at least this long. */
  olderThanMs: number
  dryRun?: boolean
}

/**
 * Remove leftovers of killed writers: temp files older than `olderThanMs` whose writer is not alive on this host
 * (a live writer's file is kept whatever its age; a pid from another host or namespace looks dead, so the age is
 * what protects it). Returns the removed names.
 */
export async function cleanupTempFiles(paths: StorePaths, options: CleanupTempOptions): Promise<TempFile[]> {
  const removed: TempFile[] = []
  for (const f of await listTempFiles(paths)) {
    if (f.ageMs < options.olderThanMs || f.ownerAlive) continue
    if (!options.dryRun) await rm(join(paths.tmpDir, f.name), {recursive: true, force: true})
    removed.push(f)
  }
  return removed
}
