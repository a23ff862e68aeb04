/**
 * The directories a build's stages run in. With overlay (root, SLIPWAY_OVERLAY not 0) a stage's root is an
 * overlay of kept directories (src/roots/kept-roots.ts) with a fresh upper, and its changes are read from
 * that upper; what it built is kept for the next stage, build and dimg. Without, a root is a scratch
 * directory the image's layers are unpacked into, and changes come from a snapshot and a diff.
 */
import {spawn} from 'node:child_process'
import {chmod, chown, lstat, readdir, rm, utimes} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {diffLayer, snapshot} from '../layer/index.js'
import {unmountUnder} from '../sandbox/root-release.js'
import {SlipwayError} from '../errors.js'
import {isPidAlive} from '../fs-atomic.js'
import {extractLayers, type StageRoot} from '../builder/index.js'
import {fetchMissingLayers, type Image} from '../image/index.js'
import type {Descriptor} from '../oci/types.js'
import {KeptRoots, type KeptRoot, type NewKeptRoot} from './kept-roots.js'
import {MAX_LOWER_DIRS, mountableStack, mountOverlay, overlayAvailable, type OverlayMount, unmountOverlay} from './overlay.js'
import {LowerView, normalizeUpperTimes, opaqueDirs, upperChanges} from './upper-changes.js'
import type {Lease, OciStore} from '../store/index.js'
import {SCRATCH_PREFIX} from './scratch.js'
import {timed} from '../timings.js'

/** A root that follows one chain of images (a dimg's stages): `of` gives the files of an image, `holds` records what a builder made of them. */
export interface Root {
  /** Where the files are now (for --introspect-error and the full-disk check). */
  readonly path: string
  /** The kept roots' directory when the stage's writes land there (an overlay's upper), not in the scratch area. */
  readonly keptIn?: string
  of(image: Image): Promise<StageRoot>
  /** The root now holds this image's files (a builder changed it in place). */
  holds(image: Image): Promise<void>
  close(): Promise<void>
}

export interface RootServices {
  store: OciStore
  lease: Lease
  signal: AbortSignal
  /** A new empty directory in the build's scratch area. */
  newDir(kind: string): Promise<string>
  /** Layer timestamps are clamped to this (seconds). */
  mtimeClamp: number
}

const digests = (layers: readonly Descriptor[]): string[] => layers.map(l => l.digest)
const startsWith = (chain: readonly string[], prefix: readonly string[]): boolean => prefix.length <= chain.length && prefix.every((d, i) => d === chain[i])

/**
 * A scratch directory holding an image's files: the layers in it so far are a prefix of the image's, and only
 * the rest is unpacked. A fresh one starts as a copy of the longest kept base of the image's layers (made
 * from them first when there is none), so a later build copies instead of unpacking again.
 */
export class CopiedRoot implements Root {
  private layers: Descriptor[] = []
  private dir: string | undefined

  constructor(private readonly s: RootServices, private readonly kept?: KeptRoots) {}

  get path(): string {
    return this.dir ?? ''
  }

  async of(image: Image): Promise<StageRoot> {
    const want = image.manifest.layers
    if (!this.dir || !startsWith(digests(want), digests(this.layers))) {
      if (this.dir) await rm(this.dir, {recursive: true, force: true})
      this.dir = await this.s.newDir('root')
      this.layers = this.kept ? want.slice(0, await this.copyKeptBase(image, this.kept, this.dir)) : []
    }
    const rest = want.slice(this.layers.length)
    await fetchMissingLayers(this.s.store, this.s.lease, image, rest)
    await extractLayers(this.s.store, rest, this.dir, this.s.signal)
    this.layers = [...want]
    const dir = this.dir
    return {
      path: dir,
      track: async () => {
        const before = await snapshot(dir)
        return () => diffLayer(before, dir)
      },
    }
  }

  /** Copies the longest kept base of the image's layers into `dir`; returns how many layers it holds. */
  private async copyKeptBase(image: Image, kept: KeptRoots, dir: string): Promise<number> {
    const found = await kept.longestPrefix(digests(image.manifest.layers), 1)
    // a base this build keeps is in use by it from the start: no lookup and mark of it again
    const {root: base, release} = found ? {root: found[0]!, release: await kept.use(found)} : await keepBase(this.s, kept, image)
    if (!release) return 0
    try {
      await copyTree(base.files, dir)
    } finally {
      await release()
    }
    return base.chain.length
  }

  async holds(image: Image): Promise<void> {
    this.layers = [...image.manifest.layers]
  }

  async close(): Promise<void> {}
}

/** An overlay of kept directories (topmost first) with a fresh upper, mounted at a scratch directory. */
export class OverlayRoot implements Root {
  private stack: KeptRoot[] = []
  private releaseStack: (() => Promise<void>) | undefined
  private mounted: {m: OverlayMount; upper: NewKeptRoot; clean: boolean} | undefined
  private mergedDir: string | undefined

  constructor(private readonly s: RootServices, private readonly kept: KeptRoots) {}

  get path(): string {
    return this.mergedDir ?? ''
  }

  get keptIn(): string {
    return this.kept.dir
  }

  async of(image: Image): Promise<StageRoot> {
    const want = digests(image.manifest.layers)
    const top = this.stack[0]?.chain
    // room above the stack for an upper of layers unpacked here and one for the stage
    const roomy = this.stack.length <= MAX_LOWER_DIRS - 2 || want.length === top?.length
    if (!(this.mounted?.clean && top && startsWith(want, top) && roomy)) {
      await this.unmount()
      await this.settleOn(image)
    }
    const rest = image.manifest.layers.slice(this.stack[0]!.chain.length)
    if (rest.length > 0) {
      // layers this host never built on (a cached stage, a git layer): unpacked through the overlay into a
      // fresh upper, which is then kept as their entry, so the stage's own upper starts clean
      await fetchMissingLayers(this.s.store, this.s.lease, image, rest)
      await extractLayers(this.s.store, rest, this.mounted!.m.merged, this.s.signal)
      await this.keepUpper(want, false)
      await this.mountFresh()
    }
    const mounted = this.mounted!
    const lower = new LowerView(this.stack.map(e => ({dir: e.files, opaque: new Set(e.opaque)})))
    return {
      path: mounted.m.merged,
      track: async () => {
        mounted.clean = false
        return async () => upperChanges(mounted.upper.files, await opaqueDirs(mounted.upper.files), lower)
      },
    }
  }

  async holds(image: Image): Promise<void> {
    if (!this.mounted) return
    const chain = digests(image.manifest.layers)
    if (chain.length === this.stack[0]!.chain.length) {
      // no layer: the upper holds only what overlay copied up unchanged
      await this.unmount()
      return
    }
    await this.keepUpper(chain, true)
  }

  async close(): Promise<void> {
    await this.unmount()
    await this.releaseStack?.()
    this.releaseStack = undefined
    this.stack = []
  }

  /** Mounts the longest kept prefix of the image's layers, or a new base of them all (a deep stack is flattened that way too). */
  private async settleOn(image: Image): Promise<void> {
    const chain = digests(image.manifest.layers)
    for (let attempt = 0; ; attempt++) {
      const stack = await this.kept.longestPrefix(chain, Number.MAX_SAFE_INTEGER)
      // a stack too deep to stack two more uppers on is flattened: all the layers unpacked into a new base,
      // which is in use by this build from the moment it is kept
      if (!stack || stack.length > MAX_LOWER_DIRS - 2) {
        const {root, release} = await keepBase(this.s, this.kept, image)
        await this.holdStack([root], release)
        break
      }
      // evicted between the lookup and the mark: look again
      if (await this.useStack(stack)) break
      if (attempt >= 2) throw new SlipwayError('conflict', 'the kept roots changed under this build three times', {hint: 'run the build again'})
    }
    await this.mountFresh()
  }

  private async useStack(stack: KeptRoot[]): Promise<boolean> {
    const release = await this.kept.use(stack)
    if (!release) return false
    await this.holdStack(stack, release)
    return true
  }

  /** The stack this root mounts from now on, in use until `release` (the one held before is let go). */
  private async holdStack(stack: KeptRoot[], release: () => Promise<void>): Promise<void> {
    await this.releaseStack?.()
    this.releaseStack = release
    this.stack = stack
  }

  private async mountFresh(): Promise<void> {
    const upper = await this.kept.create()
    try {
      // the merged root directory is the upper's own: give it the lower root's owner, mode and time
      const top = await lstat(this.stack[0]!.files)
      await chown(upper.files, top.uid, top.gid)
      await chmod(upper.files, top.mode & 0o7777)
      await utimes(upper.files, top.atime, top.mtime)
      this.mergedDir ??= await this.s.newDir('root')
      const lowers = this.stack.map(e => e.files)
      if (!mountableStack(lowers, upper.files, upper.work)) throw new SlipwayError('internal', `cannot mount a stack of ${lowers.length} kept roots`)
      this.mounted = {m: await mountOverlay(lowers, upper.files, upper.work, this.mergedDir), upper, clean: true}
    } catch (e) {
      await upper.discard()
      throw e
    }
  }

  private async unmount(): Promise<void> {
    const mounted = this.mounted
    if (!mounted) return
    this.mounted = undefined
    await unmountOverlay(mounted.m)
    await mounted.upper.discard()
  }

  /** Unmounts and keeps the upper as the entry for `chain` over the current stack. */
  private async keepUpper(chain: string[], normalize: boolean): Promise<void> {
    const mounted = this.mounted!
    this.mounted = undefined
    await unmountOverlay(mounted.m)
    let releaseKept: () => Promise<void>
    try {
      const opaque = await opaqueDirs(mounted.upper.files)
      if (normalize) {
        const lower = new LowerView(this.stack.map(e => ({dir: e.files, opaque: new Set(e.opaque)})))
        normalizeUpperTimes(mounted.upper.files, upperChanges(mounted.upper.files, opaque, lower), lower, this.s.mtimeClamp)
      }
      releaseKept = (await this.kept.keep(mounted.upper, {chain, kind: 'upper', parent: this.stack[0]!.key, opaque: [...opaque]})).release
    } catch (e) {
      await mounted.upper.discard()
      throw e
    }
    // the kept entry is this build's until released, so nothing removes the stack it tops meanwhile
    try {
      const stack = await this.kept.stackFor(chain)
      if (!stack || !(await this.useStack(stack))) throw new SlipwayError('conflict', 'a kept root this build made was removed at once', {hint: 'run the build again'})
    } finally {
      await releaseKept()
    }
  }
}

/**
 * Unpacks all the image's layers into a new kept base (another build's of the same layers may win); it is in
 * use by this process until the returned release.
 */
async function keepBase(s: RootServices, kept: KeptRoots, image: Image): Promise<{root: KeptRoot; release: () => Promise<void>}> {
  const made = await kept.create()
  try {
    await fetchMissingLayers(s.store, s.lease, image, image.manifest.layers)
    await timed(`unpack ${image.manifest.layers.length} layers`, () => extractLayers(s.store, image.manifest.layers, made.files, s.signal))
  } catch (e) {
    await made.discard()
    throw e
  }
  return kept.keep(made, {chain: digests(image.manifest.layers), kind: 'base'})
}

/** The kept roots of this home, and whether overlay roots can be used with them here. */
export async function openKeptRoots(home: string, scratch: string, env: NodeJS.ProcessEnv): Promise<{kept: KeptRoots; overlay: boolean}> {
  const kept = await KeptRoots.open(home)
  const overlay = env.SLIPWAY_OVERLAY !== '0' && process.getuid?.() === 0 && (await overlayAvailable(kept.dir, scratch, env))
  if (overlay) await unmountDeadBuilds(dirname(scratch))
  return {kept, overlay}
}

/**
 * Overlay roots are mounted in the host's namespace, so a killed build leaves its mounts (over kept roots)
 * behind: the next build takes them down (`dimg cleanup` also removes the directories).
 */
async function unmountDeadBuilds(scratchArea: string): Promise<void> {
  for (const name of await readdir(scratchArea).catch(() => [] as string[])) {
    const m = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(name)
    if (m && !isPidAlive(Number(m[1]))) await unmountUnder(join(scratchArea, name), true)
  }
}

/** A root that becomes an overlay or a copied one on first use: a build that needs no files never probes for overlay. */
export class FirstUseRoot implements Root {
  private root: Root | undefined

  constructor(private readonly s: RootServices, private readonly kept: () => Promise<{kept: KeptRoots; overlay: boolean}>) {}

  get path(): string {
    return this.root?.path ?? ''
  }

  get keptIn(): string | undefined {
    return this.root?.keptIn
  }

  async of(image: Image): Promise<StageRoot> {
    if (!this.root) {
      const {kept, overlay} = await this.kept()
      this.root = overlay ? new OverlayRoot(this.s, kept) : new CopiedRoot(this.s, kept)
    }
    return this.root.of(image)
  }

  async holds(image: Image): Promise<void> {
    await this.root?.holds(image)
  }

  async close(): Promise<void> {
    await this.root?.close()
  }
}

/** `cp -a --reflink=auto`: owners, modes, times, hard links and xattrs as they are; shared extents where the filesystem can. */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', '--', `${from}/.`, `${to}/`], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', e => reject(new SlipwayError('environment', `cannot copy a kept root: ${e.message}`, {cause: e})))
    child.on('close', code => {
      if (code === 0) return resolve()
      const full = /No space left on device/.test(stderr)
      reject(new SlipwayError('environment', `cannot copy the kept root ${from} to ${to}: ${stderr.trim().split('\n').pop() ?? `cp exited ${code}`}`, {
        ...(full ? {hint: 'free disk space (or set SLIPWAY_TMPDIR to a bigger filesystem) and run again'} : {}),
      }))
    })
  })
}
