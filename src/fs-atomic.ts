/** Files that appear whole or not at all (temp file, fsync, then rename or link), and pid-tagged temp names
 *  that let cleanup tell a live writer's leftovers from a dead one's. Below every room: the store, the
 *  archives, the CLI's report file and the registry login's auth file write through it. */
import {randomBytes} from 'node:crypto'
import {link, open, rename, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'

/** `<prefix>-<pid>-<random>`: the pid lets cleanup tell a live writer's temp file from a dead one's. */
export function tempName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`
}

/** The pid a `tempName` was made by, if it parses. */
export function tempOwnerPid(name: string): number | undefined {
  const m = /^[a-z]+-(\d+)-[0-9a-f]+/.exec(name)
  return m ? Number(m[1]) : undefined
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function writeSynced(path: string, data: string | Uint8Array, mode = 0o666): Promise<void> {
  const fh = await open(path, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Replace `target` with `data` atomically: readers see the old or the new content, never a mix. `mode`
 * (less the umask) is the file's from its creation, so a secret is never readable by others, not even in
 * the temp file.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, tmpDir: string, mode?: number): Promise<void> {
  const tmp = join(tmpDir, tempName('file'))
  try {
    await writeSynced(tmp, data, mode)
    await rename(tmp, target)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
  await fsyncDir(dirname(target))
}

/**
 * Create `target` with `data` unless it exists; never overwrite and never expose a half-written file
 * (hard link of a complete temp file). Returns whether this call created it.
 */
export async function createFileOnce(target: string, data: string | Uint8Array, tmpDir: string): Promise<boolean> {
  const tmp = join(tmpDir, tempName('file'))
  await writeSynced(tmp, data)
  try {
    await link(tmp, target)
    await fsyncDir(dirname(target))
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code
}

/** Whether a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return isErrno(e, 'EPERM')
  }
}
