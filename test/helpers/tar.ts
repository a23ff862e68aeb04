/** Tar archives built and read in a test, entry by entry (tar-stream), hostile headers included. */
import {Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'

import tar from 'tar-stream'

export type TarEntryHeader = Partial<tar.Header> & {name: string}

export interface TarEntry {
  header: TarEntryHeader
  content?: string | Buffer
}

/**
 * A tar of exactly these entries, in this order. Unset header fields: mode 0644, mtime 0, owner 0:0; a file
 * entry without content is empty.
 */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer)
  })()
  for (const e of entries) {
    const isFile = e.header.type === undefined || e.header.type === 'file'
    const content = e.content === undefined ? (isFile ? Buffer.alloc(0) : undefined) : Buffer.from(e.content)
    const header: TarEntryHeader = {mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, ...e.header, ...(content ? {size: content.length} : {})}
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (content) pack.entry(header, content, done)
      else pack.entry(header, done)
    })
  }
  pack.finalize()
  await collected
  return Buffer.concat(chunks)
}

/** A tar of these files (path → content), each preceded by its parent directories (0755), all at mtime 0. */
export function filesTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const dirs = new Set<string>()
  for (const name of Object.keys(files)) {
    const parts = name.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  return tarOf([
    ...[...dirs].sort().map(name => ({header: {name, type: 'directory' as const, mode: 0o755}})),
    ...Object.entries(files).map(([name, content]) => ({header: {name}, content})),
  ])
}

export interface ListedEntry {
  name: string
  type: string
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch. */
  mtime: number
  linkname?: string
  size: number
  pax?: Record<string, string>
  content: string
  /** Where the entry's content starts in the (uncompressed) archive. */
  offset: number
}

/** The entries of a tar (gzipped or plain) in order, with their headers, content and content offsets. */
export async function listTar(data: Buffer): Promise<ListedEntry[]> {
  const gz = data[0] === 0x1f && data[1] === 0x8b
  const source = gz ? Readable.from([data]).pipe(createGunzip()) : Readable.from([data])
  const ex = tar.extract()
  source.on('error', err => ex.destroy(err))
  source.pipe(ex)
  const out: ListedEntry[] = []
  for await (const entry of ex) {
    const chunks: Buffer[] = []
    for await (const c of entry) chunks.push(c as Buffer)
    const h = entry.header
    out.push({
      name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0,
      mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000), linkname: h.linkname ?? undefined, size: h.size ?? 0,
      pax: h.pax as Record<string, string> | undefined, content: Buffer.concat(chunks).toString(),
      // tar-stream records where an entry's content starts, untyped
      offset: (h as unknown as {byteOffset: number}).byteOffset,
    })
  }
  return out
}
