/** Finds what a stage changed in a root, compared with the snapshot taken before it ran. */
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
 *  that directory (plus, for opaque/replaced ones, the new content as `added`). Both the walk and `before`
 *  (a snapshot) are depth first, so a subtree's paths come right after its directory: the one directory
 *  whose subtree is being passed is enough to tell what hides a path (looking up every ancestor of every
 *  path is quadratic in the depth). */
export async function diffLayer(before: Snapshot, root: string): Promise<Change[]> {
  const changes: Change[] = []
  const seen = new Set<string>()
  const hiding = new Set<string>() // dirs whose lower content is hidden (new, replaced or opaque) or now something else
  const within = (top: string | undefined, path: string): string | undefined => top !== undefined && path.startsWith(`${top}/`) ? top : undefined

  let fresh: string | undefined // the outermost new, replaced or opaque directory the walk is in
  for (const [path, meta] of walkTree(root)) {
    seen.add(path)
    const old = before.get(path)
    fresh = within(fresh, path)
    if (fresh !== undefined || old === undefined) {
      changes.push({kind: 'added', path})
      if (isDir(meta)) fresh ??= path
      continue
    }
    if (fileType(old.mode) !== fileType(meta.mode)) {
      changes.push({kind: 'added', path})
      hiding.add(path)
      if (isDir(meta)) fresh = path
      continue
    }
    if (isDir(meta) && (old.ino !== meta.ino || old.dev !== meta.dev)) {
      changes.push({kind: 'opaque', path})
      hiding.add(path)
      fresh = path
      continue
    }
    if (changed(old, meta)) changes.push({kind: 'modified', path})
  }

  // A path gone from the root is hidden already when an ancestor is deleted (its whiteout covers it), fresh
  // (replaced or opaque directory) or now something other than a directory (its entry replaces the whole
  // lower subtree).
  let hidden: string | undefined // the outermost such ancestor
  for (const [path, meta] of before) {
    hidden = within(hidden, path)
    if (seen.has(path)) {
      if (hiding.has(path)) hidden ??= path
      continue
    }
    if (hidden === undefined) changes.push({kind: 'deleted', path})
    if (isDir(meta)) hidden ??= path
  }
  return changes
}
