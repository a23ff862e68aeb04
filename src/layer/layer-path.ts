/** Path rules shared by the layer writers and the extractor: entry paths are root-relative, POSIX, with no
 *  leading `/`, no trailing `/`, no `.` or `..` components. */
import {posix} from 'node:path'

import {nameToBytes} from '../oci/file-names.js'

export const WHITEOUT_PREFIX = '.wh.'
export const OPAQUE_WHITEOUT = '.wh..wh..opq'

export function whiteoutPath(path: string): string {
  const dir = posix.dirname(path)
  const name = posix.basename(path)
  return dir === '.' ? WHITEOUT_PREFIX + name : `${dir}/${WHITEOUT_PREFIX}${name}`
}

export function opaqueWhiteoutPath(dir: string): string {
  return dir === '' ? OPAQUE_WHITEOUT : `${dir}/${OPAQUE_WHITEOUT}`
}

/** All proper ancestors of a relative path, outermost first: `a/b/c` → [`a`, `a/b`]. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/')
  const out: string[] = []
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'))
  return out
}

/** Sort key that puts a directory's opaque marker right after the directory itself, before any sibling entry
 *  of this layer (so an extractor that applies it in order never clears this layer's own files). Other paths
 *  sort by their bytes, which always puts a parent before its children. */
function sortKey(path: string): Buffer {
  if (path === OPAQUE_WHITEOUT) return Buffer.from([0])
  if (path.endsWith('/' + OPAQUE_WHITEOUT)) return Buffer.concat([nameToBytes(path.slice(0, -OPAQUE_WHITEOUT.length)), Buffer.from([0])])
  return nameToBytes(path)
}

export function compareLayerPaths(a: string, b: string): number {
  return Buffer.compare(sortKey(a), sortKey(b))
}

/** Joins a mapping target (`/app`) and a relative path into an entry path (`app/x`). */
export function joinEntryPath(to: string, rel: string): string {
  const joined = posix.normalize(posix.join('/', to, rel))
  return joined.replace(/^\/+/, '').replace(/\/+$/, '')
}
