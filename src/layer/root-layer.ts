/** Turns the changes a stage made in a root into a deterministic layer. */
import {createReadStream, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'
import {fsPath} from '../oci/file-names.js'
import type {Change} from './diff.js'
import {ancestorsOf, compareLayerPaths, opaqueWhiteoutPath, whiteoutPath} from './layer-path.js'
import {packLayer, type LayerCompression, type LayerEntry, type LayerStream} from './layer-writer.js'
import {fileType, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, statEntry, type FileMeta} from './snapshot.js'
import {readCapabilities} from './xattr.js'

export interface WriteLayerOptions {
  /** Seconds since the epoch; entry mtimes above it are lowered to it (SOURCE_DATE_EPOCH / commit time). */
  mtimeClamp?: number
  compression?: LayerCompression
  log?: (msg: string) => void
  /**
   * Rootless builds: the host uid/gid the sandbox maps root to. Files they own on disk are root's inside
   * the image, so they are recorded as 0, as a root build would record them.
   */
  hostIds?: {uid: number; gid: number}
}

export function clampMtime(mtimeNs: bigint, clamp: number | undefined): number {
  const seconds = Number(mtimeNs / 1_000_000_000n)
  return clamp === undefined ? seconds : Math.min(seconds, clamp)
}

/**
 * Files up to this size are read in one synchronous call: a stream per file cost ~0.2 ms of round trips
 * each (1 s for a stage writing 5,000 small files), and one such read blocks the loop for microseconds.
 */
const SMALL_FILE_BYTES = 256 * 1024
/** Larger files stream in reads of this size (fs streams default to 64 KiB). */
const READ_CHUNK_BYTES = 1024 * 1024

function fileContent(abs: string, size: number): () => Iterable<Buffer> | AsyncIterable<Buffer> {
  if (size <= SMALL_FILE_BYTES) return () => [readFileSync(fsPath(abs))]
  return () => createReadStream(fsPath(abs), {start: 0, end: size - 1, highWaterMark: READ_CHUNK_BYTES})
}

/** A layer entry for a file on disk (without hard-link handling), or null for sockets. */
export function entryFromMeta(path: string, abs: string, meta: FileMeta, mtimeClamp: number | undefined): LayerEntry | null {
  const base = {path, mode: meta.mode & 0o7777, uid: meta.uid, gid: meta.gid, size: 0, mtime: clampMtime(meta.mtimeNs, mtimeClamp)}
  switch (fileType(meta.mode)) {
    case S_IFREG:
      return {...base, type: 'file', size: meta.size, content: fileContent(abs, meta.size)}
    case S_IFDIR:
      return {...base, type: 'directory'}
    case S_IFLNK:
      return {...base, type: 'symlink', linkTarget: meta.linkTarget}
    case S_IFCHR:
    case S_IFBLK: {
      // Linux dev_t encoding (glibc gnu_dev_major/minor)
      const major = ((meta.rdev >>> 8) & 0xfff) | Math.floor(meta.rdev / 2 ** 32) & ~0xfff
      const minor = (meta.rdev & 0xff) | ((meta.rdev >>> 12) & ~0xff)
      return {...base, type: fileType(meta.mode) === S_IFCHR ? 'char' : 'block', devmajor: major, devminor: minor}
    }
    case S_IFIFO:
      return {...base, type: 'fifo'}
    default:
      return null
  }
}

export interface DiskEntry {
  path: string // entry path in the layer
  abs: string // where it is on disk
  meta: FileMeta
}

/** Layer entries for files on disk (no sockets), one per file, in the given (layer) order: hard links among them become link entries
 *  to the first path of their inode; `security.capability` is read for regular files. */
export async function* diskEntries(files: DiskEntry[], options: {mtimeClamp?: number; log?: (msg: string) => void; override?: (e: LayerEntry) => LayerEntry}): AsyncGenerator<LayerEntry> {
  const regular = files.filter(f => fileType(f.meta.mode) === S_IFREG).map(f => f.abs)
  const caps = await readCapabilities(regular, options.log)
  const firstPathOfInode = new Map<string, string>()
  for (const f of files) {
    let entry = entryFromMeta(f.path, f.abs, f.meta, options.mtimeClamp)
    if (entry === null) throw new SlipwayError('internal', `socket /${f.path} cannot be stored in a layer`)
    if (options.override) entry = options.override(entry)
    if (entry.type === 'file' && f.meta.nlink > 1) {
      const key = `${f.meta.dev}:${f.meta.ino}`
      const first = firstPathOfInode.get(key)
      if (first !== undefined) {
        yield {...entry, type: 'link', size: 0, linkTarget: first, content: undefined}
        continue
      }
      firstPathOfInode.set(key, f.path)
    }
    const cap = caps.get(f.abs)
    if (cap) entry.xattrs = {'security.capability': cap}
    yield entry
  }
}

const WHITEOUT: Omit<LayerEntry, 'path'> = {type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0}

/** Streams the layer for `changes` (from diffLayer) as they are now in `root`. Parent directories of every
 *  change are included, entries are sorted, whiteouts are empty files named `.wh.NAME`. */
export function writeLayer(root: string, changes: Change[], options: WriteLayerOptions = {}): LayerStream {
  async function* entries(): AsyncGenerator<LayerEntry> {
    const onDisk = new Set<string>()
    const whiteouts = new Set<string>()
    for (const c of changes) {
      for (const a of ancestorsOf(c.path)) onDisk.add(a)
      if (c.kind === 'deleted') whiteouts.add(whiteoutPath(c.path))
      else onDisk.add(c.path)
      if (c.kind === 'opaque') whiteouts.add(opaqueWhiteoutPath(c.path))
    }
    const paths = [...onDisk, ...whiteouts].sort(compareLayerPaths)
    const files: DiskEntry[] = []
    const order: (DiskEntry | string)[] = []
    for (const path of paths) {
      if (whiteouts.has(path)) {
        order.push(path)
        continue
      }
      const abs = join(root, path)
      const f = {path, abs, meta: await statEntry(abs)}
      if (fileType(f.meta.mode) === S_IFSOCK) {
        options.log?.(`skipping socket /${path}: sockets cannot be stored in a layer`)
        continue
      }
      files.push(f)
      order.push(f)
    }
    // Hard-link detection and capabilities work on the on-disk entries; interleave whiteouts back in order.
    const ids = options.hostIds
    const override = ids ? (e: LayerEntry): LayerEntry => ({...e, uid: e.uid === ids.uid ? 0 : e.uid, gid: e.gid === ids.gid ? 0 : e.gid}) : undefined
    const gen = diskEntries(files, {...options, override})
    for (const item of order) {
      if (typeof item === 'string') {
        yield {...WHITEOUT, path: item}
        continue
      }
      const next = await gen.next()
      if (!next.done) yield next.value
    }
  }
  return packLayer(entries(), {compression: options.compression})
}
