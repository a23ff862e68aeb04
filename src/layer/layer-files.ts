/** Reading a few files of an image from its layers, topmost first, without unpacking it. */
import {posix} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {byteExtract, nameOf} from '../archive/index.js'
import {decompressed} from './extract.js'
import {ancestorsOf, OPAQUE_WHITEOUT, WHITEOUT_PREFIX} from './layer-path.js'

/** Account files are a few KiB; one larger than this is left to the unpacked root. */
const FILE_MAX_BYTES = 4 * 1024 * 1024

export interface LayerToRead {
  label: string
  open(): Promise<AsyncIterable<Uint8Array> & {destroy(): void}>
  /**
   * Read to its end even once the files are found: bytes from a registry are checked against the digest only
   * at the end, and nothing from them may be used before.
   */
  readToEnd: boolean
}

/** A file's content, or null when it is absent (missing, whited out, or not a regular file). */
export type FoundFiles = Map<string, Buffer | null>

const relative = (name: string): string => posix.normalize(`/${nameOf(name)}`).slice(1).replace(/\/$/, '')

/**
 * The regular files at `paths` (root-relative: `etc/passwd`) as the image's root would hold them: each taken
 * from the topmost layer that has it; a layer that whites it out (or one of its directories) hides every
 * layer below; only layers above the one found are read. Undefined when the layers alone cannot tell (a hard
 * link, a directory replaced by a symlink or file, a file too large): unpack the image then.
 */
export async function filesFromLayers(layersTopFirst: LayerToRead[], paths: string[], signal?: AbortSignal): Promise<FoundFiles | undefined> {
  const found: FoundFiles = new Map()
  for (const layer of layersTopFirst) {
    const pending = paths.filter(p => !found.has(p))
    if (pending.length === 0) break
    signal?.throwIfAborted()
    const verdict = await scanLayer(layer, pending)
    if (verdict === 'unknown') return undefined
    for (const p of pending) {
      if (verdict.files.has(p)) found.set(p, verdict.files.get(p)!)
      else if (verdict.hidden.has(p)) found.set(p, null)
    }
  }
  for (const p of paths) if (!found.has(p)) found.set(p, null)
  return found
}

/** What one layer says about the paths: the entries it has for them, and which lower ones it hides. */
async function scanLayer(layer: LayerToRead, paths: string[]): Promise<{files: FoundFiles; hidden: Set<string>} | 'unknown'> {
  const input = await layer.open()
  const source = await decompressed(Readable.from(input), layer.label)
  const ex = byteExtract()
  const feeding = pipeline(source, ex)
  feeding.catch(() => {})
  const files: FoundFiles = new Map()
  const hidden = new Set<string>()
  let unknown = false
  let stopped = false
  try {
    for await (const entry of ex) {
      const done = files.size === paths.length
      if (!done) unknown = await judge(entry as unknown as TarEntry, paths, files, hidden)
      entry.resume()
      if (unknown || (files.size === paths.length && !layer.readToEnd)) {
        stopped = true
        break
      }
    }
    if (!stopped) await feeding
  } finally {
    source.destroy()
    input.destroy()
  }
  return unknown ? 'unknown' : {files, hidden}
}

/** Records what one entry says about the paths; true when it makes the layers unable to tell. */
type TarEntry = AsyncIterable<Buffer> & {header: {name: string; type?: string | null; size?: number}}

async function judge(entry: TarEntry, paths: string[], files: FoundFiles, hidden: Set<string>): Promise<boolean> {
  const name = relative(entry.header.name)
  const dir = posix.dirname(name) === '.' ? '' : posix.dirname(name)
  const base = posix.basename(name)
  const type = entry.header.type
  for (const p of paths) {
    const above = ancestorsOf(p)
    if (name === p) {
      if (type === 'link') return true
      if (type !== 'file' && type !== 'contiguous-file') {
        files.set(p, null) // a symlink (never followed out of the root) or a directory: no file to read
        continue
      }
      const content = await contentOf(entry)
      if (!content) return true
      files.set(p, content)
    } else if (base === OPAQUE_WHITEOUT ? dir === '' || above.includes(dir) : base.startsWith(WHITEOUT_PREFIX) && [...above, p].includes(posix.join(dir, base.slice(WHITEOUT_PREFIX.length)))) {
      hidden.add(p)
    } else if (above.includes(name) && type !== 'directory') {
      return true
    }
  }
  return false
}

async function contentOf(entry: AsyncIterable<Buffer> & {header: {size?: number}}): Promise<Buffer | undefined> {
  if ((entry.header.size ?? 0) > FILE_MAX_BYTES) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of entry) chunks.push(chunk)
  return Buffer.concat(chunks)
}
