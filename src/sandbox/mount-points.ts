/** Creates the mount points a sandbox needs inside a root and removes them again afterwards, so that
 *  running a stage does not leave empty /proc, /dev or /etc/resolv.conf files in its layer. */
import {lstat, mkdir, readdir, rmdir, unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

export interface CreatedMountPoint {
  /** Paths created, outermost first (relative to the root). */
  created: string[]
}

/** Makes sure `rel` exists inside `root` as a directory or an empty file without passing through any
 *  symlink. Returns null (and creates nothing) when a component is a symlink or not a directory. */
export async function ensureMountPoint(root: string, rel: string, kind: 'dir' | 'file'): Promise<CreatedMountPoint | null> {
  const parts = rel.split('/').filter(Boolean)
  const created: string[] = []
  for (let i = 0; i < parts.length; i++) {
    const sub = parts.slice(0, i + 1).join('/')
    const last = i === parts.length - 1
    const st = await lstat(join(root, sub)).catch(() => null)
    if (st === null) {
      if (last && kind === 'file') await writeFile(join(root, sub), '', {flag: 'wx', mode: 0o644})
      else await mkdir(join(root, sub), {mode: 0o755})
      created.push(sub)
      continue
    }
    if (st.isSymbolicLink()) return null
    if (!last && !st.isDirectory()) return null
    if (last && kind === 'dir' && !st.isDirectory()) return null
    if (last && kind === 'file' && st.isDirectory()) return null
  }
  return {created}
}

/** Removes what ensureMountPoint created, innermost first, as long as it is still empty. */
export async function removeMountPoint(root: string, point: CreatedMountPoint): Promise<void> {
  for (const rel of [...point.created].reverse()) {
    const abs = join(root, rel)
    const st = await lstat(abs).catch(() => null)
    if (st === null) continue
    try {
      if (st.isDirectory()) {
        if ((await readdir(abs)).length > 0) return
        await rmdir(abs)
      } else if (st.isFile() && st.size === 0) {
        await unlink(abs)
      } else {
        return
      }
    } catch {
      return
    }
  }
}
