/**
 * What a stage changed, read from its overlay upper directory instead of two walks of the whole root. The
 * upper holds every path the stage wrote, but also entries overlay only copied up (a chmod to the same
 * mode, an open for writing, parent directories): each is compared with the entry the lower layers show,
 * so the changes, and the layer made of them, are the ones the copied-root diff (layer/diff.ts) finds.
 * Whiteouts are 0:0 character devices; a directory made anew over a lower one is marked opaque by an xattr.
 */
import {execFile} from 'node:child_process'
import {closeSync, lstatSync, lutimesSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import type {Change} from '../layer/diff.js'
import {ancestorsOf} from '../layer/layer-path.js'
import {unescapeName} from '../layer/xattr.js'
import {fsPath, nameFromBytes} from '../oci/file-names.js'

const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000
const S_IFCHR = 0o020000

/** One directory of a stack: its path and the directories marked opaque in it (root-relative). */
export interface StackLayer {
  dir: string
  opaque: ReadonlySet<string>
}

const OPAQUE_XATTRS = /^(trusted|user)\.overlay\.opaque="?y"?$/

/** Directories of `upper` that overlay marked opaque (one getfattr over the tree; the upper is small). */
export async function opaqueDirs(upper: string): Promise<Set<string>> {
  let stdout: string
  try {
    ;({stdout} = await promisify(execFile)('getfattr', ['-R', '-h', '-d', '--absolute-names', '-m', '^(trusted|user)\\.overlay\\.opaque$', '-e', 'text', '--', upper], {maxBuffer: 64 << 20}))
  } catch (e) {
    stdout = (e as {stdout?: string}).stdout ?? ''
  }
  const found = new Set<string>()
  let file: string | undefined
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeName(line.slice(8))
    else if (file !== undefined && OPAQUE_XATTRS.test(line)) {
      const rel = file === upper ? '' : file.slice(upper.length + 1)
      if (rel !== '') found.add(rel)
    }
  }
  return found
}

function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(fsPath(path), {bigint: true})
  } catch {
    return null
  }
}

const typeOf = (st: BigIntStats): number => Number(st.mode) & S_IFMT
const isWhiteout = (st: BigIntStats): boolean => typeOf(st) === S_IFCHR && st.rdev === 0n

/** The entries the lower layers show, looked up as overlay does: topmost layer first, whiteouts and opaque dirs hiding the rest. */
export class LowerView {
  private readonly stats = new Map<string, BigIntStats | null>()

  constructor(private readonly layers: StackLayer[]) {}

  private stat(i: number, rel: string): BigIntStats | null {
    const key = `${i}\0${rel}`
    let st = this.stats.get(key)
    if (st === undefined) {
      st = lstatOrNull(join(this.layers[i]!.dir, rel))
      this.stats.set(key, st)
    }
    return st
  }

  /** The path on disk and stat of `rel` in the merged lower view, or null when it is not there. */
  find(rel: string): {path: string; st: BigIntStats} | null {
    const above = ancestorsOf(rel)
    layers: for (const [i, layer] of this.layers.entries()) {
      let opaque = false
      for (const a of above) {
        const st = this.stat(i, a)
        if (st === null) continue layers
        if (isWhiteout(st) || typeOf(st) !== S_IFDIR) return null
        if (layer.opaque.has(a)) opaque = true
      }
      const st = this.stat(i, rel)
      if (st !== null) return isWhiteout(st) ? null : {path: join(layer.dir, rel), st}
      if (opaque) return null
    }
    return null
  }
}

function sortedNames(dir: string): string[] {
  return readdirSync(fsPath(dir), {encoding: 'buffer'}).sort(Buffer.compare).map(nameFromBytes)
}

function sameContent(a: string, b: string, size: number): boolean {
  const fa = openSync(fsPath(a), 'r')
  const fb = openSync(fsPath(b), 'r')
  try {
    const ba = Buffer.allocUnsafe(1 << 16)
    const bb = Buffer.allocUnsafe(1 << 16)
    for (let done = 0; done < size;) {
      const na = readSync(fa, ba, 0, ba.length, done)
      const nb = readSync(fb, bb, 0, bb.length, done)
      if (na !== nb || na === 0 || ba.compare(bb, 0, nb, 0, na) !== 0) return false
      done += na
    }
    return true
  } finally {
    closeSync(fa)
    closeSync(fb)
  }
}

function linkTarget(path: string): Buffer {
  return readlinkSync(fsPath(path), {encoding: 'buffer'})
}

/** Whether an upper entry differs from the lower one of the same type, as the copied-root diff judges it (without ctime and inode, which a copy-up changes). */
function differs(upperPath: string, up: BigIntStats, lower: {path: string; st: BigIntStats}): boolean {
  const lo = lower.st
  if (up.mode !== lo.mode || up.uid !== lo.uid || up.gid !== lo.gid) return true
  const type = typeOf(up)
  if (type === S_IFDIR) return false
  if (up.size !== lo.size || up.mtimeNs !== lo.mtimeNs || up.rdev !== lo.rdev) return true
  if (type === S_IFLNK) return !linkTarget(upperPath).equals(linkTarget(lower.path))
  return type === S_IFREG && up.size > 0n && !sameContent(upperPath, lower.path, Number(up.size))
}

/** Changes in the upper directory relative to the lower view, in path order (the shape diffLayer returns). */
export function upperChanges(upper: string, opaque: ReadonlySet<string>, lower: LowerView): Change[] {
  const changes: Change[] = []
  const walk = (rel: string, fresh: boolean): void => {
    for (const name of sortedNames(rel ? join(upper, rel) : upper)) {
      const path = rel ? `${rel}/${name}` : name
      const abs = join(upper, path)
      const st = lstatSync(fsPath(abs), {bigint: true})
      const dir = typeOf(st) === S_IFDIR
      if (isWhiteout(st)) {
        if (!fresh && lower.find(path)) changes.push({kind: 'deleted', path})
        continue
      }
      const below = fresh ? null : lower.find(path)
      if (below === null || typeOf(below.st) !== typeOf(st)) {
        changes.push({kind: 'added', path})
        if (dir) walk(path, true)
      } else if (dir && opaque.has(path)) {
        changes.push({kind: 'opaque', path})
        walk(path, true)
      } else {
        if (differs(abs, st, below)) changes.push({kind: 'modified', path})
        if (dir) walk(path, false)
      }
    }
  }
  walk('', false)
  return changes
}

/**
 * Makes the upper's timestamps the ones unpacking the stage's layer would give, before the upper is kept:
 * entries in the layer get their clamped layer mtime, the rest (copied up unchanged, directories whose
 * children came and went) the lower's. A later stage on the kept stack then finds the same files as on a
 * root unpacked from the layers, and writes the same layer.
 */
export function normalizeUpperTimes(upper: string, changes: Change[], lower: LowerView, clampSeconds: number): void {
  const inLayer = new Set<string>()
  for (const c of changes) {
    for (const a of ancestorsOf(c.path)) inLayer.add(a)
    if (c.kind !== 'deleted') inLayer.add(c.path)
  }
  const settings: [string, number][] = []
  const walk = (rel: string): void => {
    for (const name of sortedNames(rel ? join(upper, rel) : upper)) {
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(fsPath(join(upper, path)), {bigint: true})
      if (isWhiteout(st)) continue
      const seconds = Number(st.mtimeNs / 1_000_000_000n)
      if (inLayer.has(path)) settings.push([path, Math.min(seconds, clampSeconds)])
      else {
        const below = lower.find(path)
        if (below) settings.push([path, Number(below.st.mtimeNs) / 1e9])
      }
      if (typeOf(st) === S_IFDIR) walk(path)
    }
  }
  walk('')
  for (const [path, seconds] of settings) lutimesSync(fsPath(join(upper, path)), seconds, seconds)
}
