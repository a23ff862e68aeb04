/** A record of every path under a root (by lstat, never following symlinks), taken before a stage runs so
 *  the stage's changes can be found afterwards. */
import {lstat, readdir, readlink} from 'node:fs/promises'
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

/** Root-relative POSIX path (no leading `/`) → metadata. The root itself is not included. */
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

export async function statEntry(absPath: string): Promise<FileMeta> {
  const st = await lstat(fsPath(absPath), {bigint: true})
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
  if (fileType(mode) === S_IFLNK) meta.linkTarget = nameFromBytes(await readlink(fsPath(absPath), {encoding: 'buffer'}))
  return meta
}

/** Names in a directory, byte for byte (see oci/file-names.ts), sorted by their bytes. */
export async function readNames(dir: string): Promise<string[]> {
  return (await readdir(fsPath(dir), {encoding: 'buffer'})).sort(Buffer.compare).map(nameFromBytes)
}

/** Walks `root` depth first; yields entries in a stable order (names sorted) for callers that stream. */
export async function* walkTree(root: string, rel = ''): AsyncGenerator<[string, FileMeta]> {
  const names = await readNames(rel ? join(root, rel) : root)
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name
    let meta: FileMeta
    try {
      meta = await statEntry(join(root, path))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue // vanished while walking
      throw e
    }
    yield [path, meta]
    if (isDir(meta)) yield* walkTree(root, path)
  }
}

export async function snapshot(root: string): Promise<Snapshot> {
  const snap: Snapshot = new Map()
  for await (const [path, meta] of walkTree(root)) snap.set(path, meta)
  return snap
}
