/**
 * A directory tree (the project's build_dir mounts) as a tar, for `dimg build-context export/import`.
 * Export is deterministic: entries sorted by path, uid/gid 0, no user names, permission bits and mtimes
 * (whole seconds) kept, hard links stored as plain files, sockets/fifos/devices left out.
 * Import never writes outside the target and never leaves it half-done: the tree is extracted into a temp
 * sibling and swapped in only when the whole archive checked out.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, link, lstat, mkdir, open, readdir, readlink, rename, rm, symlink, utimes} from 'node:fs/promises'
import {basename, dirname, join, posix, resolve} from 'node:path'

import {SlipwayError} from '../errors.js'
import {
  archiveError, archivePath, type ArchiveOptions, type ArchiveSource, type ArchiveTarget, drainEntry, isSystemError, openTar,
  type TarEntry, type TarReader, TarWriter,
} from './tar.js'

export interface DirArchiveResult {
  /** Entries written or extracted (the top directory itself not counted). */
  entries: number
  /** Export: archive bytes written; import: archive bytes read. */
  bytes: number
}

export interface DirImportOptions extends ArchiveOptions {
  /** How the archive is named in messages; default: the file's base name, or "the archive" for a stream. */
  label?: string
}

const HINT = 'the archive was damaged or cut short on the way; export it again and copy it whole. The directory was left as it was'

interface TreeEntry {
  rel: string
  abs: string
  kind: 'directory' | 'file' | 'symlink'
  mode: number
  mtime: Date
  size: number
}

/** Tar the tree under `dir` to `out` (a path is written beside it and renamed into place when complete). */
export async function exportDirectory(dir: string, out: ArchiveTarget, options: ArchiveOptions = {}): Promise<DirArchiveResult> {
  const root = resolve(dir)
  const top = await lstat(root).catch(() => undefined)
  if (!top?.isDirectory()) throw new SlipwayError('not-found', `${root} is not a directory`, {hint: 'build the project first, or leave the build directory out'})
  const entries = await listTree(root)
  const totalBytes = entries.reduce((n, e) => n + e.size, 0)
  const writer = await TarWriter.create(out)
  let done = 0
  try {
    for (const e of entries) {
      if (e.kind === 'directory') await writer.addDirectory(e.rel, e.mode, e.mtime)
      else if (e.kind === 'symlink') await writer.addSymlink(e.rel, await readlink(e.abs), e.mtime)
      else {
        await writer.addFile(e.rel, e.size, exactly(e), {
          mode: e.mode,
          mtime: e.mtime,
          onChunk: n => {
            done += n
            options.onProgress?.({bytes: done, totalBytes})
          },
        })
      }
    }
    return {entries: entries.length, bytes: await writer.finish()}
  } catch (e) {
    await writer.abort(e as Error)
    if (isSystemError(e)) {
      throw new SlipwayError('environment', `cannot archive ${root}: ${e.message}`, {hint: 'check that the output directory exists and has free space', cause: e})
    }
    throw e
  }
}

/** Every entry under `root`, depth first, names sorted, parents before children. */
async function listTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = []
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const childAbs = join(abs, name)
      const childRel = rel ? `${rel}/${name}` : name
      const st = await lstat(childAbs)
      const base = {rel: childRel, abs: childAbs, mode: st.mode & 0o7777, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000), size: 0}
      if (st.isDirectory()) {
        out.push({...base, kind: 'directory'})
        await walk(childAbs, childRel)
      } else if (st.isFile()) {
        out.push({...base, kind: 'file', size: st.size})
      } else if (st.isSymbolicLink()) {
        out.push({...base, kind: 'symlink'})
      } // sockets, fifos and devices are not build output
    }
  }
  await walk(root, '')
  return out
}

/** The file's bytes, failing clearly when it grew or shrank since it was listed (a build still writing it). */
async function* exactly(e: TreeEntry): AsyncGenerator<Buffer> {
  let n = 0
  for await (const chunk of createReadStream(e.abs)) {
    n += (chunk as Buffer).length
    if (n > e.size) break
    yield chunk as Buffer
  }
  if (n !== e.size) {
    throw new SlipwayError('conflict', `${e.abs} changed while it was being archived`, {hint: 'run the export again when no build is running'})
  }
}

/**
 * Replace `dir` with the tree in the archive. Names that are absolute or climb with `..`, symlinks that point
 * outside the tree, entries that would be written through a symlink, and devices are refused with
 * SlipwayError('integrity'); so is a truncated or corrupt archive. On any failure `dir` is left as it was.
 */
export async function importDirectory(source: ArchiveSource, dir: string, options: DirImportOptions = {}): Promise<DirArchiveResult> {
  const label = options.label ?? (typeof source === 'string' ? basename(source) : 'the archive')
  const target = resolve(dir)
  await mkdir(dirname(target), {recursive: true})
  const staging = join(dirname(target), `.${basename(target)}.import-${process.pid}-${randomBytes(6).toString('hex')}`)
  await mkdir(staging, {mode: 0o700})
  let reader: TarReader | undefined
  try {
    reader = await openTar(source, label, options.onProgress)
    const entries = await extractTree(reader, staging, label)
    await swapInto(staging, target)
    return {entries, bytes: reader.bytesRead()}
  } catch (e) {
    reader?.close()
    await rm(staging, {recursive: true, force: true})
    throw archiveError(e, label, reader, {hint: HINT, doing: 'import'})
  }
}

async function extractTree(reader: TarReader, staging: string, label: string): Promise<number> {
  const dirs: {abs: string; mode: number; mtime: Date}[] = []
  let rootMode: {mode: number; mtime: Date} | undefined
  let count = 0
  for await (const entry of reader.entries) {
    const h = entry.header
    const rel = archivePath(h.name, label)
    const mode = (h.mode ?? 0o644) & 0o7777
    const mtime = h.mtime ?? new Date(0)
    if (rel === '') {
      if (h.type !== 'directory') throw new SlipwayError('integrity', `entry "${h.name}" names the top directory but is a ${h.type}`)
      rootMode = {mode, mtime}
      await drainEntry(entry)
      continue
    }
    const abs = await placeFor(staging, rel, h.name)
    count++
    switch (h.type) {
      case 'directory': {
        const existing = await lstat(abs).catch(() => undefined)
        if (existing && !existing.isDirectory()) throw twice(h.name)
        if (!existing) await mkdir(abs, {mode: 0o700})
        dirs.push({abs, mode, mtime})
        await drainEntry(entry)
        break
      }
      case 'file':
      case 'contiguous-file':
        await writeFileEntry(entry, abs)
        await chmod(abs, mode)
        await utimes(abs, mtime, mtime)
        break
      case 'symlink': {
        const to = h.linkname ?? ''
        const resolved = posix.normalize(posix.join(posix.dirname(rel), to))
        if (to === '' || to.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
          throw new SlipwayError('integrity', `symlink "${h.name}" points outside the directory (to "${to.slice(0, 200)}")`)
        }
        await symlink(to, abs).catch(e => {
          throw (e as NodeJS.ErrnoException).code === 'EEXIST' ? twice(h.name) : e
        })
        await drainEntry(entry)
        break
      }
      case 'link': {
        const targetRel = archivePath(h.linkname ?? '', label)
        const targetAbs = targetRel === '' ? undefined : await placeFor(staging, targetRel, h.linkname ?? '')
        const st = targetAbs === undefined ? undefined : await lstat(targetAbs).catch(() => undefined)
        if (!st?.isFile()) throw new SlipwayError('integrity', `hard link "${h.name}" points at "${(h.linkname ?? '').slice(0, 200)}", which is not a file earlier in the archive`)
        await link(targetAbs!, abs).catch(e => {
          throw (e as NodeJS.ErrnoException).code === 'EEXIST' ? twice(h.name) : e
        })
        await drainEntry(entry)
        break
      }
      default:
        throw new SlipwayError('integrity', `entry "${h.name.slice(0, 200)}" is a ${h.type}; a build directory archive holds files, directories and links`)
    }
  }
  for (const d of dirs.reverse()) {
    await chmod(d.abs, d.mode)
    await utimes(d.abs, d.mtime, d.mtime)
  }
  if (rootMode) {
    await chmod(staging, rootMode.mode)
    await utimes(staging, rootMode.mtime, rootMode.mtime)
  }
  return count
}

function twice(name: string): SlipwayError {
  return new SlipwayError('integrity', `entry "${name.slice(0, 200)}" appears twice, or under a file`)
}

/**
 * Where entry `rel` goes under `staging`, creating missing parent directories. Every parent must be a real
 * directory made by this import: a path through a symlink is refused, so nothing is ever written outside.
 */
async function placeFor(staging: string, rel: string, raw: string): Promise<string> {
  const parts = rel.split('/')
  let abs = staging
  for (const part of parts.slice(0, -1)) {
    abs = join(abs, part)
    const st = await lstat(abs).catch(() => undefined)
    if (!st) await mkdir(abs, {mode: 0o700})
    else if (st.isSymbolicLink()) throw new SlipwayError('integrity', `entry "${raw.slice(0, 200)}" would be written through the symlink "${part}"`)
    else if (!st.isDirectory()) throw twice(raw)
  }
  return join(abs, parts[parts.length - 1]!)
}

/** Written by hand rather than with stream.pipeline, which does not see a tar-stream (streamx) entry end on error. */
async function writeFileEntry(entry: TarEntry, abs: string): Promise<void> {
  const fh = await open(abs, 'wx', 0o600).catch(e => {
    throw (e as NodeJS.ErrnoException).code === 'EEXIST' ? twice(entry.header.name) : e
  })
  try {
    for await (const chunk of entry.content) {
      let offset = 0
      while (offset < chunk.length) offset += (await fh.write(chunk, offset, chunk.length - offset)).bytesWritten
    }
  } finally {
    await fh.close()
  }
}

/** Put the staged tree at `target`; an existing tree is moved aside first and removed once the new one is in place. */
async function swapInto(staging: string, target: string): Promise<void> {
  const old = `${staging}.old`
  const hadOld = await lstat(target).then(() => true, () => false)
  if (hadOld) await rename(target, old)
  try {
    await rename(staging, target)
  } catch (e) {
    if (hadOld) await rename(old, target).catch(() => {})
    throw e
  }
  if (hadOld) await rm(old, {recursive: true, force: true})
}
