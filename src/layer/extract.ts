/** Unpacks one layer (gzip or plain tar) onto a root filesystem, applying OCI whiteouts. Never writes
 *  outside the root: absolute names, `..` components, and paths or hard links that pass through a symlink
 *  leading outside the root are refused with an integrity error.
 *
 *  Symlink entries themselves are created with any target (`/etc/localtime -> /usr/share/zoneinfo/UTC` is
 *  normal); they are only dangerous when followed, and parent components are followed only when the link is
 *  relative and stays inside the root. Directory modes and mtimes, applied last, go only to the directory
 *  the entry made (same inode, reached through real directories only), never through a link that replaced
 *  it or one of its parents later in the layer. `security.capability` is restored with setfattr when present.
 *  Names and PAX values are read as bytes, so names that are not UTF-8 are kept (oci/file-names.ts).
 *  Memory: one set of the paths this layer wrote (for opaque markers) and a tree of the directories it saw. */
import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeSync,
} from 'node:fs'
import {mkdir, realpath} from 'node:fs/promises'
import {execFile} from 'node:child_process'
import {posix} from 'node:path'
import {Readable, type TransformOptions} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {promisify} from 'node:util'
import {createGunzip, type ZlibOptions} from 'node:zlib'

import {byteExtract, type ByteHeader, nameOf} from '../archive/index.js'
import {SlipwayError} from '../errors.js'
import {fsPath, hasRawBytes, nameFromBytes} from '../oci/file-names.js'
import {OPAQUE_WHITEOUT, WHITEOUT_PREFIX} from './layer-path.js'
import {writeCapability} from './xattr.js'

export interface ExtractOptions {
  /** How the layer is named in errors, e.g. its digest. */
  label?: string
  /** Checked before each entry: an aborted extraction stops with the signal's reason. */
  signal?: AbortSignal
  log?: (msg: string) => void
}

export interface ExtractResult {
  entries: number
}

const MAX_SYMLINK_HOPS = 40
const NAME_MAX = 255 // bytes in one path component (Linux)
const PATH_MAX = 4096 // bytes in a path given to a system call, with its NUL (Linux)
const run = promisify(execFile)
/** zlib hands each output chunk back through the thread pool, so its default 16 KiB chunks make that round
 *  trip the cost (0.9 s against 0.55 s to inflate 180 MB here); and it inflates only while its output waits
 *  below the high-water mark, which is room to run ahead while the entries before are written. */
const GUNZIP: ZlibOptions & TransformOptions = {chunkSize: 128 * 1024, readableHighWaterMark: 4 * 1024 * 1024}

/** Yields the input's chunks, gunzipped when it starts with the gzip magic bytes. */
export async function decompressed(input: Readable, label: string): Promise<Readable> {
  const it = input[Symbol.asyncIterator]()
  let head = Buffer.alloc(0)
  let ended = false
  while (head.length < 4) {
    const next = await it.next()
    if (next.done) {
      ended = true
      break
    }
    head = Buffer.concat([head, next.value as Buffer])
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    throw new SlipwayError('integrity', `layer ${label} is zstd-compressed, which this version cannot unpack`, {hint: 'use gzip layers'})
  }
  const all = Readable.from((async function* () {
    if (head.length) yield head
    if (ended) return
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value as Buffer
  })(), {objectMode: false})
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip(GUNZIP)
    all.on('error', e => gunzip.destroy(e))
    return all.pipe(gunzip)
  }
  return all
}

/** A directory this extraction made or lstat'ed, reached from the root through real directories only, so
 *  paths below it need no lstat of its components again. Every removal or replacement of a path goes
 *  through `LayerExtractor.remove`, which detaches the path's node and with it everything known below. */
interface KnownDir {
  path: string // absolute
  rel: string // relative to the root, '' for the root
  children: Map<string, KnownDir>
  /** Its group, which a file made in it gets when that is the process's own (under every group semantics:
   *  set-gid directory or not, BSD mount or not), or -1 when not known. */
  gid: number
  /** Mode and mtime of the directory entry, applied at the end to this very directory (dev/ino). */
  meta?: {dev: number; ino: number; mode: number; mtime: Date}
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** The process's umask, from /proc (process.umask() can only read it by setting it), or null when unknown. */
const umask = ((): number | null => {
  try {
    const line = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'))
    return line ? parseInt(line[1]!, 8) : null
  } catch {
    return null
  }
})()

/** File system calls are synchronous: a layer is thousands of small files, and a thread-pool round trip
 *  per call costs more than the call (only file contents are awaited, as they arrive). */
class LayerExtractor {
  private readonly written = new Set<string>() // real relative paths this layer created
  private readonly top: KnownDir
  private readonly isRoot = process.getuid?.() === 0
  private readonly euid = process.geteuid?.() ?? -1
  private readonly egid = process.getegid?.() ?? -1

  constructor(root: string, private readonly label: string, private readonly log?: (msg: string) => void) {
    this.top = {path: root, rel: '', children: new Map(), gid: lstatSync(fsPath(root)).gid}
  }

  private escape(name: string, why: string): SlipwayError {
    return new SlipwayError('integrity', `layer ${this.label} entry "${name}" escapes the root: ${why}`, {
      hint: 'the layer is corrupt or hostile; it was not unpacked',
    })
  }

  private parts(name: string, raw: string): string[] {
    if (name.startsWith('/')) throw this.escape(raw, 'absolute path')
    const parts = name.split('/').filter(p => p !== '' && p !== '.')
    if (parts.includes('..')) throw this.escape(raw, '".." in path')
    const long = parts.find(p => Buffer.byteLength(p) > NAME_MAX)
    if (long !== undefined) {
      throw new SlipwayError('integrity', `layer ${this.label} entry "${raw.slice(0, 120)}…" has a name of ${Buffer.byteLength(long)} bytes, and Linux allows at most ${NAME_MAX}`, {
        hint: 'the image cannot be unpacked on Linux; rebuild it without that file',
      })
    }
    const length = Buffer.byteLength(this.top.path) + 1 + Buffer.byteLength(parts.join('/'))
    if (length >= PATH_MAX) {
      throw new SlipwayError('integrity', `layer ${this.label} entry "${raw.slice(0, 120)}…" is ${length} bytes long below ${this.top.path}, and Linux allows at most ${PATH_MAX - 1}`, {
        hint: 'the image cannot be unpacked here; rebuild it with shorter paths',
      })
    }
    return parts
  }

  /** Whether a new entry in `dir` is owned by uid:gid as it is made (so it needs no chown). */
  private madeOwned(dir: KnownDir, uid: number, gid: number): boolean {
    return uid === this.euid && gid === this.egid && dir.gid === this.egid
  }

  /** `gid` is the directory's group when known; a directory just made in `dir` has the process's group
   *  when `dir` has it, and an unknown one otherwise. */
  private child(dir: KnownDir, name: string, gid = dir.gid === this.egid ? this.egid : -1): KnownDir {
    const node = {path: `${dir.path}/${name}`, rel: dir.rel ? `${dir.rel}/${name}` : name, children: new Map(), gid}
    dir.children.set(name, node)
    return node
  }

  /** Removes whatever is at `name` in `dir` (a symlink itself, never its target) and forgets what was known below it. */
  private remove(dir: KnownDir, name: string | Buffer): void {
    const path = typeof name === 'string'
      ? fsPath(`${dir.path}/${name}`)
      : Buffer.concat([Buffer.from(fsPath(dir.path)), Buffer.from('/'), name])
    rmSync(path, {recursive: true, force: true})
    dir.children.delete(typeof name === 'string' ? name : nameFromBytes(name))
  }

  /** Runs `make` (which creates `name` in `dir` exclusively, never following a link there); when something is
   *  already there, removes it first. */
  private create<T>(dir: KnownDir, name: string, make: () => T): T {
    try {
      return make()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    this.remove(dir, name)
    return make()
  }

  /** The directory `name` in `dir`: the one there, or a new one (replacing what else is there). */
  private directory(dir: KnownDir, name: string): KnownDir {
    const path = fsPath(`${dir.path}/${name}`)
    try {
      mkdirSync(path, {mode: 0o700})
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      if (!lstatSync(path).isDirectory()) {
        this.remove(dir, name)
        mkdirSync(path, {mode: 0o700})
      }
    }
    return this.child(dir, name)
  }

  /** Resolves a directory path inside the root component by component: known directories without a system
   *  call, others with lstat. Symlinks are followed only when they are relative and stay inside the root;
   *  missing directories are created when `create`. Returns null when a component is missing (or not a
   *  directory) and `create` is false. */
  private resolveDir(parts: string[], raw: string, create: boolean, hops = 0): KnownDir | null {
    let dir = this.top
    for (const part of parts) {
      const known = dir.children.get(part)
      if (known !== undefined) {
        dir = known
        continue
      }
      const path = `${dir.path}/${part}`
      const st = lstatSync(fsPath(path), {throwIfNoEntry: false})
      if (st === undefined) {
        if (!create) return null
        mkdirSync(fsPath(path), {mode: 0o755})
        dir = this.child(dir, part)
      } else if (st.isDirectory()) {
        dir = this.child(dir, part, st.gid)
      } else if (st.isSymbolicLink()) {
        const link = dir.rel ? `/${dir.rel}/${part}` : `/${part}`
        if (hops >= MAX_SYMLINK_HOPS) throw this.escape(raw, 'too many levels of symbolic links')
        const target = nameFromBytes(readlinkSync(fsPath(path), {encoding: 'buffer'}))
        if (target.startsWith('/')) throw this.escape(raw, `passes through symlink ${link} -> ${target}, which points outside the root`)
        const joined = posix.normalize(posix.join(dir.rel, target))
        if (joined === '..' || joined.startsWith('../')) throw this.escape(raw, `passes through symlink ${link} -> ${target}, which points outside the root`)
        const resolved = this.resolveDir(joined.split('/').filter(p => p !== '' && p !== '.'), raw, false, hops + 1)
        if (resolved === null && !create) return null
        if (resolved === null) throw this.escape(raw, `passes through dangling symlink ${link} -> ${target}`)
        dir = resolved
      } else {
        if (!create) return null
        throw new SlipwayError('integrity', `layer ${this.label} entry "${raw}": /${dir.rel ? `${dir.rel}/` : ''}${part} is not a directory`)
      }
    }
    return dir
  }

  async apply(header: ByteHeader, entry: Readable): Promise<void> {
    const raw = nameOf(header.name)
    const parts = this.parts(raw, raw)
    if (parts.length === 0) return void entry.resume() // the root itself
    const name = parts[parts.length - 1]!
    if (name.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(parts, raw)
      return void entry.resume()
    }
    const parent = this.resolveDir(parts.slice(0, -1), raw, true)!
    const path = `${parent.path}/${name}`
    const rel = parent.rel ? `${parent.rel}/${name}` : name
    this.written.add(rel)

    const pax: Record<string, string | undefined> = (header.pax ?? {}) as Record<string, string>
    const uid = pax.uid !== undefined ? Number(pax.uid) : header.uid ?? 0
    const gid = pax.gid !== undefined ? Number(pax.gid) : header.gid ?? 0
    const mode = (header.mode ?? 0o644) & 0o7777
    const mtime = pax.mtime !== undefined ? new Date(Number(pax.mtime) * 1000) : header.mtime ?? new Date(0)

    switch (header.type) {
      case 'directory': {
        entry.resume()
        const dir = parent.children.get(name) ?? this.directory(parent, name)
        if (this.isRoot) lchownSync(fsPath(path), uid, gid)
        const st = lstatSync(fsPath(path))
        dir.gid = st.gid
        dir.meta = {dev: st.dev, ino: st.ino, mode, mtime}
        return
      }
      case 'file':
      case 'contiguous-file': {
        // created with its final permissions when the umask leaves them whole (one fchmod less per file);
        // set-id and sticky bits always come last, after the owner
        const whole = umask !== null && (mode & ~0o777) === 0 && (mode & umask) === 0
        const fd = this.create(parent, name, () => openSync(fsPath(path), CREATE_FILE, whole ? mode : 0o600))
        try {
          await writeContents(fd, entry)
          if (this.isRoot && !this.madeOwned(parent, uid, gid)) fchownSync(fd, uid, gid)
          if (!whole) fchmodSync(fd, mode)
          futimesSync(fd, mtime, mtime)
        } finally {
          closeSync(fd)
        }
        break
      }
      case 'symlink':
        entry.resume()
        this.create(parent, name, () => symlinkSync(fsPath(nameOf(header.linkname ?? '')), fsPath(path)))
        if (this.isRoot && !this.madeOwned(parent, uid, gid)) lchownSync(fsPath(path), uid, gid)
        lutimesSync(fsPath(path), mtime, mtime)
        return
      case 'link': {
        entry.resume()
        this.remove(parent, name)
        const linkname = nameOf(header.linkname ?? '')
        const targetParts = this.parts(linkname, raw)
        if (targetParts.length === 0) throw this.escape(raw, 'hard link to the root')
        const targetDir = this.resolveDir(targetParts.slice(0, -1), raw, false)
        const targetPath = targetDir && `${targetDir.path}/${targetParts[targetParts.length - 1]!}`
        const target = targetPath ? lstatSync(fsPath(targetPath), {throwIfNoEntry: false}) : undefined
        if (!target || target.isDirectory()) {
          throw new SlipwayError('integrity', `layer ${this.label} entry "${raw}" is a hard link to "${linkname}", which is not a file in the layer's root`)
        }
        linkSync(fsPath(targetPath!), fsPath(path))
        return // a hard link shares the target's metadata
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        entry.resume()
        this.remove(parent, name)
        if (!(await this.mknod(path, raw, header))) {
          this.written.delete(rel)
          return
        }
        if (this.isRoot) lchownSync(fsPath(path), uid, gid)
        chmodSync(fsPath(path), mode)
        lutimesSync(fsPath(path), mtime, mtime)
        break
      default:
        this.log?.(`layer ${this.label}: skipping entry "${raw}" of type ${header.type}`)
        this.written.delete(rel)
        return void entry.resume()
    }
    const cap = pax['SCHILY.xattr.security.capability']
    if (cap !== undefined) {
      // setfattr takes the path as an argument, which Node passes as UTF-8 only
      if (hasRawBytes(path)) this.log?.(`layer ${this.label}: security.capability of "${raw}" not set: its name is not UTF-8`)
      else await writeCapability(path, Buffer.from(cap, 'latin1'), this.log)
    }
  }

  /** `.wh.NAME` removes NAME from the lower layers; `.wh..wh..opq` everything lower in its directory. Neither
   *  creates the directory it is in, nor acts through a symlink that leaves the root. */
  private whiteout(parts: string[], raw: string): void {
    const name = parts[parts.length - 1]!
    const dir = this.resolveDir(parts.slice(0, -1), raw, false)
    if (dir === null) return
    if (name === OPAQUE_WHITEOUT) return this.clearLower(dir)
    const victim = name.slice(WHITEOUT_PREFIX.length)
    if (!victim.startsWith(WHITEOUT_PREFIX) && victim !== '' && victim !== '..' && victim !== '.') this.remove(dir, victim)
  }

  private async mknod(path: string, raw: string, header: ByteHeader): Promise<boolean> {
    if (hasRawBytes(path)) {
      this.log?.(`layer ${this.label}: cannot create ${header.type} "${raw}": its name is not UTF-8; skipped`)
      return false
    }
    const args = header.type === 'fifo'
      ? [path, 'p']
      : [path, header.type === 'character-device' ? 'c' : 'b', String(header.devmajor ?? 0), String(header.devminor ?? 0)]
    try {
      await run('mknod', args)
      return true
    } catch (e) {
      this.log?.(`layer ${this.label}: cannot create ${header.type} "${raw}" (${(e as {stderr?: string}).stderr?.trim() ?? e}); skipped`)
      return false
    }
  }

  /** `.wh..wh..opq`: remove what lower layers put in the directory, keeping what this layer wrote. */
  private clearLower(dir: KnownDir): void {
    for (const name of readdirSync(fsPath(dir.path), {encoding: 'buffer'})) {
      const rel = dir.rel ? `${dir.rel}/${nameFromBytes(name)}` : nameFromBytes(name)
      if (!this.written.has(rel)) this.remove(dir, name)
    }
  }

  /** Directory modes and mtimes last, deepest first, so writing children does not disturb them. Only
   *  directories still known reach here (a later entry that replaced one, or one of its parents, detached
   *  it), and each goes only to the very directory the entry made (same device and inode). */
  finish(): void {
    const apply = (dir: KnownDir): void => {
      for (const child of dir.children.values()) apply(child)
      if (dir.meta === undefined) return
      const path = fsPath(dir.path)
      const st = lstatSync(path, {throwIfNoEntry: false})
      if (!st?.isDirectory() || st.dev !== dir.meta.dev || st.ino !== dir.meta.ino) return
      chmodSync(path, dir.meta.mode)
      utimesSync(path, dir.meta.mtime, dir.meta.mtime)
    }
    apply(this.top)
  }
}

/** Writes the entry's data to `fd` as it arrives. */
function writeContents(fd: number, entry: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    entry.on('data', (chunk: Buffer) => {
      try {
        for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done)
      } catch (e) {
        entry.destroy(e as Error)
      }
    })
    entry.on('end', resolve)
    entry.on('error', reject)
    entry.on('close', () => reject(new Error('the entry ended before its data')))
  })
}

export async function extractLayer(input: Readable, rootDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const label = options.label ?? 'stream'
  await mkdir(rootDir, {recursive: true})
  const root = await realpath(rootDir)
  const extractor = new LayerExtractor(root, label, options.log)
  const ex = byteExtract()
  let entries = 0
  const source = await decompressed(input, label)
  const feeding = pipeline(source, ex).catch((e: unknown) => {
    ex.destroy(e as Error)
    throw e
  })
  feeding.catch(() => {})
  // Entries come through tar-stream's event (its async iterators cost a promise chain per entry and per
  // chunk, a tenth of a second per 5,000 entries in a process that just started); the feed ends once the
  // last entry is applied, as tar-stream holds the input until `next` is called. When the archive ends in
  // the middle of a file, tar-stream destroys that entry in a way that may end neither its data nor apply():
  // stop on the feed's error as well.
  let current: {entry: Readable; applying: Promise<unknown>} | undefined
  const failed = new Promise<never>((_, reject) => {
    ex.on('entry', (header, stream, next) => {
      if (options.signal?.aborted) return reject(options.signal.reason)
      const entry = stream as unknown as Readable
      const applying = extractor.apply(header, entry)
      current = {entry, applying}
      applying.then(() => {
        current = undefined
        entries++
        next()
      }, reject)
    })
  })
  failed.catch(() => {})
  try {
    await Promise.race([feeding, failed])
  } catch (e) {
    source.destroy()
    // nothing may still be writing into the root once this rejects: end the entry being written and wait
    // for its file to be closed (bounded, in case the tar library left that entry hanging)
    if (current) {
      current.entry.destroy()
      await Promise.race([current.applying.catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000).unref())])
    }
    if (options.signal?.aborted) throw options.signal.reason
    if (e instanceof SlipwayError) throw e
    const code = (e as NodeJS.ErrnoException).code
    if (code && ['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT'].includes(code)) {
      const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'free disk space (or set SLIPWAY_TMPDIR to a bigger filesystem) and run again' : undefined
      throw new SlipwayError('environment', `cannot unpack layer ${label} into ${rootDir}: ${(e as Error).message}`, {cause: e, hint})
    }
    throw new SlipwayError('integrity', `layer ${label} is not a valid tar archive: ${(e as Error).message}`, {cause: e})
  }
  extractor.finish()
  return {entries}
}
