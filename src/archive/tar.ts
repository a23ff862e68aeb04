/** Streaming tar plumbing shared by the image archive (store/archive.ts) and the directory archive (directory.ts):
 *  a writer that lands in a path only when complete, and a reader that yields entries one at a time. */
import {randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {open, rename, stat, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {Readable, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {extract as tarExtract, type Header, pack as tarPack, type Pack} from 'tar-stream'

import {isSlipwayError, SlipwayError} from '../errors.js'
import {fsyncDir, isErrno} from '../fs-atomic.js'

/** Where an archive is written: a file path (complete or absent, never half-written) or a stream. */
export type ArchiveTarget = string | Writable
/** Where an archive is read from: a file path or a stream. */
export type ArchiveSource = string | Readable

export interface ArchiveProgress {
  /** Bytes done so far: blob content written (export) or archive bytes read (import). */
  bytes: number
  /** Bytes in all, when known. */
  totalBytes?: number
}

export interface ArchiveOptions {
  onProgress?: (progress: ArchiveProgress) => void
}

/** Fixed metadata so the same content gives the same archive bytes. */
const EPOCH = new Date(0)

function waitWritable(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

/**
 * A tar being written entry by entry. The output runs concurrently with the entries being added, with
 * backpressure, so a file of any size streams through in small chunks.
 */
export class TarWriter {
  private bytesOut = 0
  /** The first error of the destination itself (no such directory, disk full, closed pipe). */
  private destError: Error | undefined
  private constructor(private readonly pack: Pack, private readonly output: Promise<void>, private readonly commit: () => Promise<void>, private readonly discard: () => Promise<void>) {}

  /** Start an archive at `target`; with a path, the archive is written beside it and renamed into place by `finish`. */
  static async create(target: ArchiveTarget): Promise<TarWriter> {
    const pack = tarPack()
    let tmp: string | undefined
    let dest: Writable
    if (typeof target === 'string') {
      tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
      dest = createWriteStream(tmp, {flags: 'wx', mode: 0o644})
    } else {
      dest = target
    }
    let writer: TarWriter | undefined
    const counted = Readable.from((async function* () {
      for await (const chunk of pack) {
        if (writer) writer.bytesOut += (chunk as Buffer).length
        yield chunk
      }
    })())
    pack.on('error', () => {}) // a failed entry destroys the pack; the entry reports the error
    const output = pipeline(counted, dest)
    output.catch(() => {}) // observed by add/finish/abort; avoid an unhandled rejection meanwhile
    dest.on('error', e => {
      if (writer && !writer.destError) writer.destError = e
    })
    const commit = async (): Promise<void> => {
      if (tmp === undefined) return
      const fh = await open(tmp, 'r+')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, target as string)
      await fsyncDir(dirname(target as string))
    }
    const discard = async (): Promise<void> => {
      if (tmp !== undefined) await unlink(tmp).catch(() => {})
    }
    writer = new TarWriter(pack, output, commit, discard)
    return writer
  }

  /** Bytes of archive produced so far. */
  get bytes(): number {
    return this.bytesOut
  }

  async addDirectory(name: string, mode = 0o755, mtime = EPOCH): Promise<void> {
    await this.add({name, type: 'directory', mode, mtime, uid: 0, gid: 0}, undefined)
  }

  async addSymlink(name: string, target: string, mtime = EPOCH): Promise<void> {
    await this.add({name, type: 'symlink', linkname: target, mode: 0o777, mtime, uid: 0, gid: 0}, undefined)
  }

  /** A regular file of exactly `size` bytes from `content`; `onChunk` sees each chunk as it is written. */
  async addFile(name: string, size: number, content: AsyncIterable<Uint8Array> | Uint8Array, options: {mode?: number; mtime?: Date; onChunk?: (n: number) => void} = {}): Promise<void> {
    await this.add({name, type: 'file', size, mode: options.mode ?? 0o644, mtime: options.mtime ?? EPOCH, uid: 0, gid: 0}, content, options.onChunk)
  }

  private async add(header: Partial<Header> & {name: string}, content: AsyncIterable<Uint8Array> | Uint8Array | undefined, onChunk?: (n: number) => void): Promise<void> {
    let settle!: (err?: Error | null) => void
    const done = new Promise<void>((resolve, reject) => {
      settle = err => (err ? reject(err) : resolve())
    })
    done.catch(() => {})
    if (this.pack.destroyed) {
      await this.output
      throw new Error('the archive was closed')
    }
    const sink = this.pack.entry(header, settle)
    sink.on('error', () => {}) // the same error reaches `settle`
    if (header.type === 'file' && content !== undefined) {
      const chunks = content instanceof Uint8Array ? [content] : content
      for await (const chunk of chunks) {
        if (sink.destroyed) break
        onChunk?.(chunk.length)
        if (!sink.write(chunk)) await waitWritable(sink)
      }
    }
    if (!sink.destroyed) sink.end(undefined)
    try {
      await done
    } catch (e) {
      // the destination failing destroys the pack and so this entry: report that cause
      await this.output.catch(() => {})
      throw this.destError ?? e
    }
  }

  /** End the archive and wait until every byte is out (and, for a path, synced and renamed into place). */
  async finish(): Promise<number> {
    this.pack.finalize()
    try {
      await this.output
      await this.commit()
    } catch (e) {
      await this.discard()
      throw this.destError ?? e
    }
    return this.bytesOut
  }

  /** Stop writing; a partly written archive file is removed. */
  async abort(error: Error): Promise<void> {
    this.pack.destroy(error)
    await this.output.catch(() => {})
    await this.discard()
  }
}

/** One tar entry: its header and its content, which must be read to the end before the next entry comes. */
export interface TarEntry {
  header: Header
  content: AsyncIterable<Buffer>
}

export interface TarReader {
  entries: AsyncIterable<TarEntry>
  /** Total archive size when it is a file. */
  totalBytes?: number
  /** Archive bytes read so far. */
  bytesRead(): number
  /** Stop reading (on failure); safe to call more than once. */
  close(): void
  /** The tar parser's or the input's own error, if it failed: the real cause behind an entry that broke off. */
  failure(): Error | undefined
}

/** Open `source` for streaming entry by entry; `onProgress` is told the archive bytes read so far. */
export async function openTar(source: ArchiveSource, label: string, onProgress?: (progress: ArchiveProgress) => void): Promise<TarReader> {
  let input: Readable
  let totalBytes: number | undefined
  if (typeof source === 'string') {
    try {
      const st = await stat(source)
      if (!st.isFile()) throw new SlipwayError('usage', `${source} is not a file`, {hint: 'give the path of the archive'})
      totalBytes = st.size
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new SlipwayError('not-found', `${source} does not exist`, {hint: `give the path of ${label}`})
      throw e
    }
    input = createReadStream(source)
  } else {
    input = source
  }
  const extract = tarExtract()
  let failure: Error | undefined
  extract.on('error', e => {
    failure ??= e
  })
  let read = 0
  input.on('data', (chunk: Buffer) => {
    read += chunk.length
    onProgress?.({bytes: read, totalBytes})
  })
  input.on('error', e => {
    failure ??= e
    extract.destroy(e)
  })
  input.pipe(extract)
  const close = (): void => {
    input.unpipe(extract)
    input.destroy()
    extract.destroy()
  }
  async function* entries(): AsyncGenerator<TarEntry> {
    for await (const entry of extract) yield {header: entry.header, content: entry as AsyncIterable<unknown> as AsyncIterable<Buffer>}
  }
  return {entries: entries(), totalBytes, bytesRead: () => read, close, failure: () => failure}
}

/** Read a whole small entry into memory, refusing one larger than `maxBytes` before reading it. */
export async function readSmallEntry(entry: TarEntry, maxBytes: number, what: string): Promise<Buffer> {
  const size = entry.header.size ?? 0
  if (size > maxBytes) throw new SlipwayError('integrity', `${what} is ${size} bytes, more than the ${maxBytes} allowed`)
  const chunks: Buffer[] = []
  for await (const chunk of entry.content) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Read an entry's content to the end, handing each chunk to `onChunk`. */
export async function drainEntry(entry: TarEntry, onChunk?: (chunk: Buffer) => void): Promise<void> {
  for await (const chunk of entry.content) onChunk?.(chunk as Buffer)
}

/**
 * A path inside an archive in canonical form (no `./` prefix, no trailing slash), or a SlipwayError when it is
 * absolute or climbs with `..`. '' is the archive's root.
 */
export function archivePath(name: string, label: string): string {
  if (name.startsWith('/')) throw new SlipwayError('integrity', `${label} entry "${name.slice(0, 200)}" has an absolute path`)
  const parts = name.split('/').filter(p => p !== '' && p !== '.')
  if (parts.includes('..')) throw new SlipwayError('integrity', `${label} entry "${name.slice(0, 200)}" climbs out with ".."`)
  return parts.join('/')
}

/** Tar parser failures (plain Errors from tar-stream) in words a user understands. */
export function describeTarError(e: Error): string {
  const m = e.message
  if (/Unexpected end of data/i.test(m)) return 'the archive ends in the middle of an entry'
  if (/Invalid tar header/i.test(m)) return 'a tar header is damaged (or the file is not a tar archive)'
  if (/Header exceeds max size|Invalid header/i.test(m)) return 'a tar header is damaged'
  return m
}

/** An error from the operating system (ENOSPC, EACCES, EPIPE …), as opposed to one the archive's content caused. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && /^E[A-Z]+$/.test(code)
}

/**
 * A failure while reading an archive as one user-facing line: anything the archive's content caused becomes
 * SlipwayError('integrity', '<label> is truncated or corrupt: …'); a file system error becomes 'environment';
 * other SlipwayErrors pass through. An entry cut off by a parser failure only says it was destroyed, so the
 * reader's own failure, when there is one, is the cause reported.
 */
export function archiveError(e: unknown, label: string, reader: TarReader | undefined, options: {hint: string; doing: string}): unknown {
  const cause = isSlipwayError(e) ? e : reader?.failure() ?? e
  if (isSlipwayError(cause)) {
    if (cause.kind !== 'integrity') return cause
    return new SlipwayError('integrity', `${label} is truncated or corrupt: ${cause.message}`, {hint: options.hint, cause})
  }
  if (isSystemError(cause)) {
    return new SlipwayError('environment', `cannot ${options.doing} ${label}: ${cause.message}`, {hint: 'check free space and permissions', cause})
  }
  return new SlipwayError('integrity', `${label} is truncated or corrupt: ${describeTarError(cause as Error)}`, {hint: options.hint, cause})
}
