/** A record of every path under a root (by lstat, never following symlinks), taken before a stage runs so
 *  the stage's changes can be found afterwards. */
import {type BigIntStats, lstatSync, readdirSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'

import {fsPath, nameFromBytes} from '../oci/file-names.js'

export interface FileMeta {
  mode: number // full st_mode (type + permissions)
  uid: number
  gid: number
  size: number
  mtimeNs: bigint
  ctimeNs: bigint
  ino: bigint
  dev: bigint
  nlink: number
  rdev: number
  linkTarget?: string
}

/** Root-relative POSIX path (no leading `/`) → metadata, in walkTree's order. The root itself is not included. */
export type Snapshot = Map<string, FileMeta>

export const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFLNK = 0o120000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000
export const S_IFSOCK = 0o140000

export function fileType(mode: number): number {
  return mode & S_IFMT
}

export function isDir(meta: FileMeta): boolean {
  return fileType(meta.mode) === S_IFDIR
}

function metaOf(absPath: string, st: BigIntStats): FileMeta {
  const mode = Number(st.mode)
  const meta: FileMeta = {
    mode,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    rdev: Number(st.rdev),
  }
  if (fileType(mode) === S_IFLNK) meta.linkTarget = nameFromBytes(readlinkSync(fsPath(absPath), {encoding: 'buffer'}))
  return meta
}

export async function statEntry(absPath: string): Promise<FileMeta> {
  return metaOf(absPath, lstatSync(fsPath(absPath), {bigint: true}))
}

/** Names in a directory, byte for byte (see oci/file-names.ts), sorted by their bytes. */
function readNames(dir: string): string[] {
  return readdirSync(fsPath(dir), {encoding: 'buffer'}).sort(Buffer.compare).map(nameFromBytes)
}

/** Walks `root` (from `rel` below it) depth first; yields entries in a stable order (names sorted). The
 *  calls are synchronous: a root is thousands of entries, and a thread-pool round trip per lstat costs
 *  more than the lstat. */
export function* walkTree(root: string, rel = ''): Generator<[string, FileMeta]> {
  const stack = [{rel, names: readNames(rel ? join(root, rel) : root), next: 0}]
  while (stack.length > 0) {
    const dir = stack[stack.length - 1]!
    if (dir.next === dir.names.length) {
      stack.pop()
      continue
    }
    const name = dir.names[dir.next++]!
    const path = dir.rel ? `${dir.rel}/${name}` : name
    const abs = join(root, path)
    const st = lstatSync(fsPath(abs), {bigint: true, throwIfNoEntry: false})
    if (st === undefined) continue // vanished while walking
    const meta = metaOf(abs, st)
    yield [path, meta]
    if (isDir(meta)) stack.push({rel: path, names: readNames(abs), next: 0})
  }
}

export async function snapshot(root: string): Promise<Snapshot> {
  return new Map(walkTree(root))
}
