/**
 * Stage roots kept between builds, so a stage whose parent was unpacked or built here before starts at once.
 * A kept root stands for a chain of layer digests (never a stage signature: first-writer-wins means REPO may
 * hold another host's layer for the same signature) and is one directory of a stack: a `base` holds a chain's
 * layers unpacked the normal way; an `upper` is the overlay upper directory a stage (or the unpacking of
 * layers onto its parent) left, over its parent entry. Layout under `$SLIPWAY_HOME/roots` (0700):
 *
 *   entries/<key>/meta.json  what the entry is: its chain, kind, parent, opaque dirs, size
 *   entries/<key>/files/     the directory itself (read-only once kept: only ever a lower layer)
 *   entries/<key>/users/     one file per process mounting it (`<pid>-<random>`): eviction leaves it alone
 *   entries/<key>/used       its mtime is when it was last used (least-recently-used eviction)
 *   tmp/<pid>-<random>/      entries being made; renamed into entries/ whole, so a killed build leaves
 *                            nothing a later build could take for a kept root
 *
 * Bounded by SLIPWAY_KEPT_ROOTS_MIB (default {@link DEFAULT_KEPT_ROOTS_MIB}), evicted at the end of each build.
 *
 * Nothing in a kept root is fsynced (stages even run with their sync calls skipped, no-sync-filter.ts):
 * an entry is trusted only during the boot that made it. After a crash or power loss the kernel's boot id
 * changes, and entries of another boot count as damaged; the store's blobs, which are fsynced, remake them.
 */
import {createHash, randomBytes} from 'node:crypto'
import {lstatSync, readdirSync, readFileSync} from 'node:fs'
import {chmod, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'
import {isPidAlive} from '../fs-atomic.js'
import {StoreLock} from '../store/index.js'

/** The budget of kept roots, in MiB, unless SLIPWAY_KEPT_ROOTS_MIB says otherwise. */
export const DEFAULT_KEPT_ROOTS_MIB = 8192

export type KeptKind = 'base' | 'upper'

export interface KeptRoot {
  key: string
  /** The layer digests the stack up to and including this entry stands for. */
  chain: string[]
  kind: KeptKind
  /** The entry below an upper. */
  parent?: string
  /** Directories overlay marked opaque in an upper (root-relative). */
  opaque: string[]
  bytes: number
  /** The entry's directory of files. */
  files: string
}

/** The boot an entry was made in (never flushed to disk, it is not trusted after the next). */
type Meta = Omit<KeptRoot, 'files'> & {boot: string}

let currentBoot: string | undefined
function bootId(): string {
  try {
    currentBoot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    currentBoot = 'unknown'
  }
  return currentBoot
}

/** A directory being made into a kept root: `files` (and overlay's `work`) live in the kept roots' tmp. */
export interface NewKeptRoot {
  dir: string
  files: string
  work: string
  discard(): Promise<void>
}

export function keptRootsBudgetBytes(env: NodeJS.ProcessEnv): number {
  const raw = env.SLIPWAY_KEPT_ROOTS_MIB
  if (raw === undefined || raw === '') return DEFAULT_KEPT_ROOTS_MIB * 2 ** 20
  if (!/^\d+$/.test(raw)) throw new SlipwayError('usage', `SLIPWAY_KEPT_ROOTS_MIB="${raw}" is not a number of MiB`, {hint: 'set it to a whole number, 0 to keep none'})
  return Number(raw) * 2 ** 20
}

/** Bytes a directory tree takes on disk (allocated blocks), walked synchronously; names as bytes. */
function diskBytes(dir: string): number {
  let total = 0
  const walk = (d: Buffer): void => {
    for (const name of readdirSync(d, {encoding: 'buffer'})) {
      const p = Buffer.concat([d, Buffer.from('/'), name])
      const st = lstatSync(p)
      total += st.blocks * 512
      if (st.isDirectory()) walk(p)
    }
  }
  walk(Buffer.from(dir))
  return total
}

/** A name for something this process owns (a use mark, a directory being made): its pid says whether the owner is alive. */
function ownedName(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`
}

export class KeptRoots {
  private readonly lock: StoreLock

  private constructor(readonly dir: string) {
    this.lock = new StoreLock(join(dir, '.lock'), dir)
  }

  static path(home: string): string {
    return join(home, 'roots')
  }

  static async open(home: string): Promise<KeptRoots> {
    const dir = KeptRoots.path(home)
    await mkdir(join(dir, 'entries'), {recursive: true, mode: 0o700})
    await mkdir(join(dir, 'tmp'), {recursive: true, mode: 0o700})
    await chmod(dir, 0o700)
    return new KeptRoots(dir)
  }

  /** The kept roots of an existing home, or undefined when it never kept one. */
  static async existing(home: string): Promise<KeptRoots | undefined> {
    const dir = KeptRoots.path(home)
    return (await stat(join(dir, 'entries')).catch(() => undefined)) ? new KeptRoots(dir) : undefined
  }

  /** A base and an upper for the same chain are two entries: a stack too deep is flattened into a base of its own. */
  static keyOf(chain: readonly string[], kind: KeptKind): string {
    return createHash('sha256').update(`${kind}\n${chain.join('\n')}`).digest('hex').slice(0, 40)
  }

  private entryDir(key: string): string {
    return join(this.dir, 'entries', key)
  }

  private async read(key: string): Promise<KeptRoot | undefined> {
    const dir = this.entryDir(key)
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta
      if (meta.key !== key || KeptRoots.keyOf(meta.chain, meta.kind) !== key || meta.boot !== bootId()) return undefined
      const files = join(dir, 'files')
      if (!(await stat(files)).isDirectory()) return undefined
      const {boot: _boot, ...root} = meta
      return {...root, files}
    } catch {
      return undefined // half-removed or damaged: never used
    }
  }

  /** The entry for exactly this chain (a base rather than an upper), with every entry below it present; topmost first. */
  async stackFor(chain: readonly string[]): Promise<KeptRoot[] | undefined> {
    return (await this.stackFrom(KeptRoots.keyOf(chain, 'base'), chain)) ?? this.stackFrom(KeptRoots.keyOf(chain, 'upper'), chain)
  }

  private async stackFrom(top: string, chain: readonly string[]): Promise<KeptRoot[] | undefined> {
    const stack: KeptRoot[] = []
    let key: string | undefined = top
    let want: readonly string[] = chain
    while (key !== undefined) {
      const entry = await this.read(key)
      if (!entry || entry.chain.length !== want.length || entry.chain.some((d, i) => d !== want[i])) return undefined
      stack.push(entry)
      if (entry.kind === 'base') return stack
      if (!entry.parent) return undefined
      key = entry.parent
      const parent = await this.read(key)
      if (!parent || parent.chain.length >= entry.chain.length) return undefined
      want = entry.chain.slice(0, parent.chain.length)
    }
    return undefined
  }

  /** The stack of the longest prefix of `chain` kept here (at most `maxDepth` directories), if any. */
  async longestPrefix(chain: readonly string[], maxDepth: number): Promise<KeptRoot[] | undefined> {
    for (let n = chain.length; n > 0; n--) {
      const stack = await this.stackFor(chain.slice(0, n))
      if (stack && stack.length <= maxDepth) return stack
    }
    return undefined
  }

  async create(): Promise<NewKeptRoot> {
    const dir = join(this.dir, 'tmp', ownedName())
    const files = join(dir, 'files')
    const work = join(dir, 'work')
    await mkdir(files, {recursive: true, mode: 0o755})
    await mkdir(work, {recursive: true, mode: 0o700})
    return {dir, files, work, discard: () => rm(dir, {recursive: true, force: true, maxRetries: 3})}
  }

  /**
   * Keeps a made directory as the entry for `chain` (its meta written before the one rename that makes it an
   * entry). When another build kept the same chain first, ours is dropped and theirs returned. The entry is
   * in use by this process from the moment it exists, until `release` (a gc between the rename and the
   * keeper's own use of the stack would otherwise find it unused and remove it).
   */
  async keep(made: NewKeptRoot, meta: {chain: string[]; kind: KeptKind; parent?: string; opaque?: string[]}): Promise<{root: KeptRoot; release: () => Promise<void>}> {
    const key = KeptRoots.keyOf(meta.chain, meta.kind)
    await rm(made.work, {recursive: true, force: true})
    const full: Meta = {key, chain: meta.chain, kind: meta.kind, ...(meta.parent ? {parent: meta.parent} : {}), opaque: meta.opaque ?? [], bytes: diskBytes(made.files), boot: bootId()}
    await writeFile(join(made.dir, 'meta.json'), JSON.stringify(full))
    await writeFile(join(made.dir, 'used'), '')
    const mark = ownedName()
    await mkdir(join(made.dir, 'users'))
    await writeFile(join(made.dir, 'users', mark), '')
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(made.dir, this.entryDir(key))
        break
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if ((code !== 'EEXIST' && code !== 'ENOTEMPTY') || attempt > 2) throw e
        const theirs = await this.read(key)
        if (theirs) {
          const release = await this.use([theirs])
          if (!release) continue // removed since: ours takes its place
          await made.discard()
          return {root: theirs, release}
        }
        // entries are renamed in whole, so one that cannot be read was damaged: ours replaces it
        await this.removeEntry(key)
      }
    }
    const {boot: _boot, ...root} = full
    const entryMark = join(this.entryDir(key), 'users', mark)
    return {root: {...root, files: join(this.entryDir(key), 'files')}, release: () => unlink(entryMark).catch(() => {})}
  }

  /**
   * Marks a stack as in use by this process until the returned release is called (eviction and gc skip it,
   * and a killed process's marks count for nothing). Undefined when an entry went away meanwhile.
   */
  async use(stack: KeptRoot[]): Promise<(() => Promise<void>) | undefined> {
    const name = ownedName()
    return this.lock.run(async () => {
      for (const e of stack) if (!(await this.read(e.key))) return undefined
      const marks: string[] = []
      for (const e of stack) {
        const users = join(this.entryDir(e.key), 'users')
        await mkdir(users, {recursive: true})
        await writeFile(join(users, name), '')
        marks.push(join(users, name))
        await writeFile(join(this.entryDir(e.key), 'used'), '')
      }
      return async () => {
        for (const m of marks) await unlink(m).catch(() => {})
      }
    })
  }

  private async all(): Promise<{entry: KeptRoot; used: number; inUse: boolean}[]> {
    const keys = await readdir(join(this.dir, 'entries')).catch(() => [] as string[])
    const out: {entry: KeptRoot; used: number; inUse: boolean}[] = []
    for (const key of keys) {
      const entry = await this.read(key)
      if (!entry) {
        // damaged or half-removed (a kept entry is renamed whole, so never half-made): goes
        await this.removeEntry(key)
        continue
      }
      const used = (await stat(join(this.entryDir(key), 'used')).catch(() => undefined))?.mtimeMs ?? 0
      const users = await readdir(join(this.entryDir(key), 'users')).catch(() => [] as string[])
      out.push({entry, used, inUse: users.some(u => isPidAlive(Number(u.split('-')[0])))})
    }
    return out
  }

  /** Renamed away first, so it stops being an entry at once, then deleted. */
  private async removeEntry(key: string): Promise<void> {
    const gone = join(this.dir, 'tmp', `gone-${key}-${randomBytes(4).toString('hex')}`)
    try {
      await rename(this.entryDir(key), gone)
    } catch {
      return
    }
    await rm(gone, {recursive: true, force: true, maxRetries: 3})
  }

  /**
   * Removes entries for which `drop` says so, least recently used first, with every entry built on them;
   * never one in use by a live process, nor an entry below one in use. Returns the keys removed.
   */
  private async removeWhere(drop: (entry: KeptRoot, keptBytes: number) => boolean, dryRun = false): Promise<string[]> {
    return this.lock.run(async () => {
      const all = await this.all()
      const byKey = new Map(all.map(a => [a.entry.key, a]))
      const protectedKeys = new Set<string>()
      for (const a of all) {
        if (!a.inUse) continue
        for (let k: string | undefined = a.entry.key; k !== undefined && !protectedKeys.has(k); k = byKey.get(k)?.entry.parent) protectedKeys.add(k)
      }
      const removed = new Set<string>()
      let kept = all.reduce((n, a) => n + a.entry.bytes, 0)
      const above = (key: string): string[] => all.filter(a => !removed.has(a.entry.key) && this.standsOn(a.entry, key, byKey)).map(a => a.entry.key)
      for (const a of [...all].sort((x, y) => x.used - y.used)) {
        if (removed.has(a.entry.key) || protectedKeys.has(a.entry.key) || !drop(a.entry, kept)) continue
        const doomed = above(a.entry.key)
        if (doomed.some(k => protectedKeys.has(k))) continue
        for (const k of doomed) {
          if (!dryRun) await this.removeEntry(k)
          removed.add(k)
          kept -= byKey.get(k)!.entry.bytes
        }
      }
      return [...removed]
    })
  }

  /** Whether `entry` is `key` or built on it. */
  private standsOn(entry: KeptRoot, key: string, byKey: Map<string, {entry: KeptRoot}>): boolean {
    for (let e: KeptRoot | undefined = entry; e; e = e.parent ? byKey.get(e.parent)?.entry : undefined) if (e.key === key) return true
    return false
  }

  /** Least-recently-used eviction down to `budgetBytes`. */
  evict(budgetBytes: number): Promise<string[]> {
    return this.removeWhere((_e, keptBytes) => keptBytes > budgetBytes || budgetBytes === 0)
  }

  /** Removes entries whose chain no image of the store starts with (`dimg cleanup`, `store gc`). */
  removeStale(stillWanted: (chain: string[]) => boolean, dryRun = false): Promise<string[]> {
    return this.removeWhere(e => !stillWanted(e.chain), dryRun)
  }

  /** Directories of killed builds in tmp/ (half-made entries, half-removed ones). */
  async removeLeftovers(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'tmp')).catch(() => [] as string[])
    const removed: string[] = []
    for (const name of names) {
      const m = /^(\d+)-/.exec(name)
      if (m && isPidAlive(Number(m[1]))) continue
      await rm(join(this.dir, 'tmp', name), {recursive: true, force: true, maxRetries: 3})
      removed.push(name)
    }
    return removed
  }
}
