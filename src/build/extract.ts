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
 *  Memory: one set of the paths this layer wrote (for opaque markers) and its directory list. */
import {createWriteStream} from 'node:fs'
import {chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, realpath, rm, symlink, utimes} from 'node:fs/promises'
import {execFile} from 'node:child_process'
import {join, posix} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {promisify} from 'node:util'
import {createGunzip} from 'node:zlib'
import {extract as tarExtract, type Extract, type Header as Headers} from 'tar-stream'

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
    const gunzip = createGunzip()
    all.on('error', e => gunzip.destroy(e))
    return all.pipe(gunzip)
  }
  return all
}

/** PAX records decoded byte for byte (tar-stream's own decoder reads them as UTF-8 and replaces what is not). */
function decodePaxBytes(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  while (buf.length > 0) {
    const space = buf.indexOf(0x20)
    const len = space > 0 ? parseInt(buf.toString('latin1', 0, space), 10) : NaN
    if (!(len > space) || len > buf.length) break
    const record = buf.toString('latin1', space + 1, len - 1)
    const eq = record.indexOf('=')
    if (eq === -1) break
    out[record.slice(0, eq)] = record.slice(eq + 1)
    buf = buf.subarray(len)
  }
  return out
}

/**
 * tar-stream's extractor, made to keep bytes: header and GNU long names are read as latin1, and PAX records
 * (GNU tar writes a `path` that is not UTF-8 raw; capability xattrs are binary) by decodePaxBytes instead of
 * its UTF-8 decoder, through the one method it has for long headers. Every string in a header is then a
 * latin1 string of the raw bytes; `nameOf` turns a name into the build's representation.
 */
export function byteExtract(): Extract {
  const ex = tarExtract({filenameEncoding: 'latin1'} as Parameters<typeof tarExtract>[0]) // not in tar-stream's types
  const internals = ex as unknown as {
    _header: {type: string}
    _pax: Record<string, string> | null
    _paxGlobal: Record<string, string> | null
    _decodeLongHeader(buf: Buffer): void
  }
  const decodeOther = internals._decodeLongHeader.bind(ex)
  internals._decodeLongHeader = (buf: Buffer): void => {
    if (internals._header.type === 'pax-global-header') internals._paxGlobal = decodePaxBytes(buf)
    else if (internals._header.type === 'pax-header') internals._pax = {...internals._paxGlobal, ...decodePaxBytes(buf)}
    else decodeOther(buf)
  }
  return ex
}

/** An entry's name as read (tar-stream decodes it as latin1): its bytes, as a path string. */
export function nameOf(latin1: string): string {
  return nameFromBytes(Buffer.from(latin1, 'latin1'))
}

class LayerExtractor {
  private readonly written = new Set<string>() // real relative paths this layer created
  private readonly dirs: {parts: string[]; dev: number; ino: number; mode: number; mtime: Date}[] = []
  private readonly isRoot = process.getuid?.() === 0

  constructor(private readonly root: string, private readonly label: string, private readonly log?: (msg: string) => void) {}

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
    const length = Buffer.byteLength(this.root) + 1 + Buffer.byteLength(parts.join('/'))
    if (length >= PATH_MAX) {
      throw new SlipwayError('integrity', `layer ${this.label} entry "${raw.slice(0, 120)}…" is ${length} bytes long below ${this.root}, and Linux allows at most ${PATH_MAX - 1}`, {
        hint: 'the image cannot be unpacked here; rebuild it with shorter paths',
      })
    }
    return parts
  }

  /** Resolves a directory path inside the root component by component with lstat. Symlinks are followed
   *  only when they are relative and stay inside the root; missing directories are created when `create`.
   *  Returns the real relative parts, or null when a component is missing and `create` is false. */
  private async resolveDir(parts: string[], raw: string, create: boolean, hops = 0): Promise<string[] | null> {
    const real: string[] = []
    for (const part of parts) {
      const abs = join(this.root, ...real, part)
      let st
      try {
        st = await lstat(fsPath(abs))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        if (!create) return null
        await mkdir(fsPath(abs), {mode: 0o755})
        real.push(part)
        continue
      }
      if (st.isDirectory()) {
        real.push(part)
      } else if (st.isSymbolicLink()) {
        if (hops >= MAX_SYMLINK_HOPS) throw this.escape(raw, 'too many levels of symbolic links')
        const target = nameFromBytes(await readlink(fsPath(abs), {encoding: 'buffer'}))
        if (target.startsWith('/')) throw this.escape(raw, `passes through symlink /${[...real, part].join('/')} -> ${target}, which points outside the root`)
        const joined = posix.normalize(posix.join(...real, target))
        if (joined === '..' || joined.startsWith('../')) throw this.escape(raw, `passes through symlink /${[...real, part].join('/')} -> ${target}, which points outside the root`)
        const resolved = await this.resolveDir(joined.split('/').filter(p => p !== '' && p !== '.'), raw, false, hops + 1)
        if (resolved === null && !create) return null
        if (resolved === null) throw this.escape(raw, `passes through dangling symlink /${[...real, part].join('/')} -> ${target}`)
        real.splice(0, real.length, ...resolved)
      } else {
        if (!create) return null
        throw new SlipwayError('integrity', `layer ${this.label} entry "${raw}": /${[...real, part].join('/')} is not a directory`)
      }
    }
    return real
  }

  async apply(header: Headers, entry: Readable): Promise<void> {
    const raw = nameOf(header.name)
    const parts = this.parts(raw, raw)
    if (parts.length === 0) return void entry.resume() // the root itself
    const name = parts[parts.length - 1]!
    const parentParts = await this.resolveDir(parts.slice(0, -1), raw, !name.startsWith(WHITEOUT_PREFIX))

    if (name === OPAQUE_WHITEOUT) {
      if (parentParts !== null) await this.clearLower(parentParts)
      return void entry.resume()
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const victim = name.slice(WHITEOUT_PREFIX.length)
      if (parentParts !== null && !victim.startsWith(WHITEOUT_PREFIX) && victim !== '' && victim !== '..' && victim !== '.') {
        await rm(fsPath(join(this.root, ...parentParts, victim)), {recursive: true, force: true})
      }
      return void entry.resume()
    }
    const realParts = [...parentParts!, name]
    const abs = join(this.root, ...realParts)
    const path = fsPath(abs)
    const existing = await lstat(path).catch(() => null)
    const isDirEntry = header.type === 'directory'
    if (existing && !(isDirEntry && existing.isDirectory())) await rm(path, {recursive: true, force: true})
    this.written.add(realParts.join('/'))

    const pax: Record<string, string | undefined> = (header.pax ?? {}) as Record<string, string>
    const uid = pax.uid !== undefined ? Number(pax.uid) : header.uid ?? 0
    const gid = pax.gid !== undefined ? Number(pax.gid) : header.gid ?? 0
    const mode = (header.mode ?? 0o644) & 0o7777
    const mtime = pax.mtime !== undefined ? new Date(Number(pax.mtime) * 1000) : header.mtime ?? new Date(0)

    switch (header.type) {
      case 'directory':
        if (!existing?.isDirectory()) await mkdir(path, {mode: 0o700})
        if (this.isRoot) await lchown(path, uid, gid)
        const created = await lstat(path)
        this.dirs.push({parts: realParts, dev: created.dev, ino: created.ino, mode, mtime})
        return void entry.resume()
      case 'file':
      case 'contiguous-file':
        await pipeline(entry, createWriteStream(path, {flags: 'wx', mode: 0o600}))
        break
      case 'symlink':
        await symlink(fsPath(nameOf(header.linkname ?? '')), path)
        entry.resume()
        break
      case 'link': {
        const linkname = nameOf(header.linkname ?? '')
        const targetParts = this.parts(linkname, raw)
        if (targetParts.length === 0) throw this.escape(raw, 'hard link to the root')
        const targetDir = await this.resolveDir(targetParts.slice(0, -1), raw, false)
        const targetAbs = targetDir && join(this.root, ...targetDir, targetParts[targetParts.length - 1]!)
        const target = targetAbs && await lstat(fsPath(targetAbs)).catch(() => null)
        if (!target || target.isDirectory()) {
          throw new SlipwayError('integrity', `layer ${this.label} entry "${raw}" is a hard link to "${linkname}", which is not a file in the layer's root`)
        }
        await link(fsPath(targetAbs!), path)
        entry.resume()
        return // a hard link shares the target's metadata
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        entry.resume()
        if (!(await this.mknod(abs, raw, header))) {
          this.written.delete(realParts.join('/'))
          return
        }
        break
      default:
        this.log?.(`layer ${this.label}: skipping entry "${raw}" of type ${header.type}`)
        this.written.delete(realParts.join('/'))
        return void entry.resume()
    }
    if (this.isRoot) await lchown(path, uid, gid)
    if (header.type !== 'symlink') await chmod(path, mode)
    await lutimes(path, mtime, mtime)
    const cap = pax['SCHILY.xattr.security.capability']
    if (cap !== undefined && header.type !== 'symlink') {
      // setfattr takes the path as an argument, which Node passes as UTF-8 only
      if (hasRawBytes(abs)) this.log?.(`layer ${this.label}: security.capability of "${raw}" not set: its name is not UTF-8`)
      else await writeCapability(abs, Buffer.from(cap, 'latin1'), this.log)
    }
  }

  private async mknod(abs: string, raw: string, header: Headers): Promise<boolean> {
    if (hasRawBytes(abs)) {
      this.log?.(`layer ${this.label}: cannot create ${header.type} "${raw}": its name is not UTF-8; skipped`)
      return false
    }
    const args = header.type === 'fifo'
      ? [abs, 'p']
      : [abs, header.type === 'character-device' ? 'c' : 'b', String(header.devmajor ?? 0), String(header.devminor ?? 0)]
    try {
      await run('mknod', args)
      return true
    } catch (e) {
      this.log?.(`layer ${this.label}: cannot create ${header.type} "${raw}" (${(e as {stderr?: string}).stderr?.trim() ?? e}); skipped`)
      return false
    }
  }

  /** `.wh..wh..opq`: remove what lower layers put in the directory, keeping what this layer wrote. */
  private async clearLower(dirParts: string[]): Promise<void> {
    const dir = join(this.root, ...dirParts)
    for (const name of await readdir(fsPath(dir), {encoding: 'buffer'})) {
      const rel = [...dirParts, nameFromBytes(name)].join('/')
      if (this.written.has(rel)) continue
      await rm(Buffer.concat([Buffer.from(fsPath(dir)), Buffer.from('/'), name]), {recursive: true, force: true})
    }
  }

  /** Directory modes and mtimes last, deepest first, so writing children does not disturb them. A later entry
   *  may have replaced the directory or one of its parents (by a symlink to a host directory, say): the
   *  metadata goes only to the very directory the entry made, reached without following any link. */
  async finish(): Promise<void> {
    for (const d of this.dirs.reverse()) {
      const abs = await this.sameDirectory(d.parts, d.dev, d.ino)
      if (abs === null) continue
      await chmod(fsPath(abs), d.mode)
      await utimes(fsPath(abs), d.mtime, d.mtime)
    }
  }

  /** The directory's path when every component is still a real directory and the last is the one made
   *  (same device and inode), else null. */
  private async sameDirectory(parts: string[], dev: number, ino: number): Promise<string | null> {
    let abs = this.root
    let st
    for (const part of parts) {
      abs = join(abs, part)
      st = await lstat(fsPath(abs)).catch(() => null)
      if (!st?.isDirectory()) return null
    }
    return st && st.dev === dev && st.ino === ino ? abs : null
  }
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
  // When the archive ends in the middle of a file, tar-stream destroys that entry in a way node's
  // pipeline() into the file does not notice, and apply() would wait forever: stop on the feed's error.
  const feedFailed = feeding.then(() => new Promise<never>(() => {}))
  feedFailed.catch(() => {})
  let current: {entry: Readable; applying: Promise<unknown>} | undefined
  try {
    for await (const entry of ex) {
      options.signal?.throwIfAborted()
      const applying = extractor.apply(entry.header, entry as unknown as Readable)
      applying.catch(() => {})
      current = {entry: entry as unknown as Readable, applying}
      await Promise.race([applying, feedFailed])
      current = undefined
      entries++
    }
    await feeding
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
  await extractor.finish()
  return {entries}
}
