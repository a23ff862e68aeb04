/** Finds what a stage changed in a root, compared with the snapshot taken before it ran. */
import {ancestorsOf} from './layer-path.js'
import {fileType, isDir, type FileMeta, type Snapshot, walkTree} from './snapshot.js'

export type Change =
  | {kind: 'added'; path: string} // new path (or one whose type changed)
  | {kind: 'modified'; path: string} // content or metadata changed
  | {kind: 'deleted'; path: string} // → `.wh.NAME`
  | {kind: 'opaque'; path: string} // directory removed and created anew → `DIR/.wh..wh..opq` + the dir

/** Directories count as modified only when their own mode or owner changed: a changed child is written
 *  with its parents anyway, and a file created and removed again is no change at all. */
function changed(a: FileMeta, b: FileMeta): boolean {
  if (isDir(a)) return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.size !== b.size || a.mtimeNs !== b.mtimeNs ||
    a.ctimeNs !== b.ctimeNs || a.ino !== b.ino || a.dev !== b.dev || a.rdev !== b.rdev || a.linkTarget !== b.linkTarget
}

/** Changes in path order. A path under a replaced, opaque or deleted directory is reported only through
 *  that directory (plus, for opaque/replaced ones, the new content as `added`). */
export async function diffLayer(before: Snapshot, root: string): Promise<Change[]> {
  const changes: Change[] = []
  const seen = new Set<string>()
  const freshDirs = new Set<string>() // dirs whose lower content is hidden (new, replaced or opaque)
  const nonDirs = new Set<string>() // directories replaced by a file, symlink…

  for await (const [path, meta] of walkTree(root)) {
    seen.add(path)
    const old = before.get(path)
    const underFresh = ancestorsOf(path).some(a => freshDirs.has(a))
    if (underFresh || old === undefined) {
      changes.push({kind: 'added', path})
      if (isDir(meta)) freshDirs.add(path)
      continue
    }
    if (fileType(old.mode) !== fileType(meta.mode)) {
      changes.push({kind: 'added', path})
      if (isDir(meta)) freshDirs.add(path)
      else nonDirs.add(path)
      continue
    }
    if (isDir(meta) && (old.ino !== meta.ino || old.dev !== meta.dev)) {
      changes.push({kind: 'opaque', path})
      freshDirs.add(path)
      continue
    }
    if (changed(old, meta)) changes.push({kind: 'modified', path})
  }

  const goneDirs = new Set<string>()
  for (const [path, meta] of before) {
    if (seen.has(path)) continue
    // Hidden already when an ancestor is deleted (its whiteout covers it), fresh (new, replaced or opaque
    // directory) or now something other than a directory (its entry replaces the whole lower subtree).
    const hidden = ancestorsOf(path).some(a => goneDirs.has(a) || freshDirs.has(a) || nonDirs.has(a))
    if (!hidden) changes.push({kind: 'deleted', path})
    if (isDir(meta)) goneDirs.add(path)
  }
  return changes
}
