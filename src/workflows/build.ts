import {randomBytes} from 'node:crypto'
import {mkdir, statfs} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import pLimit from 'p-limit'

import type {LayerCompression} from '../layer/index.js'
import {type GuardedDir, hostMountDir} from '../sandbox/host-mount.js'
import {type Isolation, runStage, type SandboxMount, StageCommandError} from '../sandbox/index.js'
import {type BuildServices, builderFor, recordedOwnerIds, type StageBuilder, type StageWork} from '../builder/index.js'
import type {CachedStage, StageCaches} from '../cache/index.js'
import type {GitMapping, MountSpec} from '../config/types.js'
import {SlipwayError} from '../errors.js'
import {uncommittedPaths} from '../git/git.js'
import {blobsMissingFrom, type Image, loadStoreImage, normalizeImage, relabel, saveImage, storeSource, storeThen} from '../image/index.js'
import {formatRef, parseImageRef, type Repository} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import {CREATED_ANNOTATION, LABEL, localStageName, nameComponent, SLIPWAY_LABEL_PREFIX, stageLabels, withoutSlipwayLabels} from '../naming/index.js'
import type {PlannedStage, StageInputs} from '../stage/stage-plan.js'
import {type Lease, type OciStore, projectBuildDir, type RefUpdate} from '../store/index.js'
import type {WorkflowContext} from './context.js'
import {pullImages} from '../transfer/index.js'
import {timed} from '../timings.js'
import {type DimgPlan, listedName, planWithCaches, type Project, type ProjectPlan} from '../project/index.js'
import {makeScratchDir, scratchBase, type ScratchDir} from '../roots/scratch.js'
import {FirstUseRoot, openKeptRoots, type Root} from '../roots/stage-roots.js'
import {type KeptRoots, keptRootsBudgetBytes} from '../roots/kept-roots.js'

export interface BuildOptions {
  dir: string
  dimgs?: string[]
  dev?: boolean
  /** Plan against REPO's stages too: a stage found there is not built, and not downloaded unless built on. */
  repo?: Repository
  /** Called as soon as a dimg (all its stages) is built or found, while others may still build. */
  onDimgBuilt?: (plan: ProjectPlan, dimg: DimgPlan, outcome: DimgOutcome) => void
  isolation?: Isolation
  compression?: LayerCompression
  /** On a failed stage, open an interactive shell in its root (needs a TTY). */
  introspectError?: boolean
  /** Dimgs built at the same time. */
  parallel?: number
  /**
   * Held until the caller is done with the outcome: the layers of stages that stayed pending (see
   * StageOutcome) are in the store under this lease only. Without it the run's own lease is released at its end.
   */
  lease?: Lease
}

/**
 * `built`: made by this run; `cached`: in the local stages cache; `cached-remote`: in REPO only, used
 * where it is (nothing of it downloaded unless a stage that had to be built stands on it).
 */
export type StageStatus = 'built' | 'cached' | 'cached-remote'

export interface StageReport {
  name: string
  signature: string
  status: StageStatus
  /** Bytes of the layer the stage added (0 for config-only stages); undefined for cached stages. */
  size?: number
  seconds: number
}

export interface DimgReport {
  name: string | null
  listedAs: string
  isArtifact: boolean
  /** The image the dimg is: its last stage. */
  signature: string
  stages: StageReport[]
}

/** What `dimg build --json` prints (and `bp --json` as `build`). */
export interface BuildReport {
  project: string
  dev: boolean
  built: number
  cached: number
  cachedRemote: number
  /** Blob bytes (layers and configs) this run read from registries: base images, REPO's stages. */
  bytesDownloaded: number
  seconds: number
  dimgs: DimgReport[]
}

/** A stage of a dimg as the run left it, for whoever pushes next. */
export interface StageOutcome {
  name: string
  signature: string
  status: StageStatus
  /**
   * The stage image and where its bytes are: set for built stages and for the stage a dimg's build stood on
   * (its last cached one). A built stage whose lower layers are only in REPO is not in the local cache
   * (`descriptor` undefined, "pending"): its new layers are in the store, the rest in `image.source.repository`.
   */
  image?: Image
  /** The manifest in the local store, when the stage is there. */
  descriptor?: Descriptor
}

export interface DimgOutcome {
  name: string | null
  stages: StageOutcome[]
}

/**
 * Builds every stage of the plan that neither the local stages cache nor (with `repo`) REPO has: for each
 * dimg the longest prefix of its stages found in either is used as it is.
 */
export async function buildProject(
  ctx: WorkflowContext,
  opts: BuildOptions,
): Promise<{plan: ProjectPlan; report: BuildReport; dimgs: DimgOutcome[]}> {
  const started = Date.now()
  const {project, plan, caches} = await planWithCaches(ctx, opts)
  await warnOfUncommittedChanges(ctx, project, plan)
  const run = await BuildRun.start(ctx, project, plan, caches, opts)
  try {
    run.lookUpCachedPrefixes(plan.dimgs)
    const limit = pLimit(Math.max(1, opts.parallel ?? 2))
    // after a failure the dimgs still waiting are not started; those building finish (their stages are whole)
    let failed = false
    const finished = new Map<string, Promise<{report: DimgReport; outcome: DimgOutcome}>>()
    for (const dimg of plan.dimgs) {
      const deps = [...dimg.imports, ...(dimg.base === undefined ? [] : [dimg.base])].map(name => finished.get(name)!)
      const task = Promise.all(deps)
        .then(() =>
          limit(() => {
            if (failed) throw NOT_STARTED
            return run.buildDimg(dimg).catch(e => {
              failed = true
              throw e
            })
          }),
        )
        .then(done => {
          opts.onDimgBuilt?.(plan, dimg, done.outcome)
          return done
        })
      // a failed dependency fails its importers without building them
      task.catch(() => {})
      finished.set(dimg.name ?? '', task)
    }
    const done = await settleInOrder([...finished.values()])
    const reports = done.map(d => d.report)
    const stages = reports.flatMap(r => r.stages)
    const count = (status: StageStatus): number => stages.filter(s => s.status === status).length
    return {
      plan,
      report: {
        project: project.name,
        dev: project.dev,
        built: count('built'),
        cached: count('cached'),
        cachedRemote: count('cached-remote'),
        bytesDownloaded: caches.downloads.bytes,
        seconds: (Date.now() - started) / 1000,
        dimgs: reports,
      },
      dimgs: done.map(d => d.outcome),
    }
  } finally {
    await run.finish()
  }
}

/**
 * A built stage's config and manifest written to the store (its layers must be there), as the ref update
 * that names it; its stage labels, in their order, are the manifest's annotations.
 */
export async function stageRefUpdate(store: OciStore, lease: Lease, name: string, image: Image): Promise<RefUpdate> {
  const created = new Date().toISOString()
  const labels = Object.entries(image.config.config?.Labels ?? {}).filter(([k]) => k.startsWith(SLIPWAY_LABEL_PREFIX))
  const annotations = {...Object.fromEntries(labels), [CREATED_ANNOTATION]: created}
  return {name, descriptor: await saveImage(store, lease, image, annotations, created), annotations}
}

/** What a dimg that was not started because another failed rejects with. */
const NOT_STARTED = new Error('not started: another dimg failed')

/** Waits for all tasks; rethrows the first failure (in plan order) after every task has settled. */
async function settleInOrder<T>(tasks: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks)
  const reasons = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map(r => r.reason)
  if (reasons.length > 0) throw reasons.find(r => r !== NOT_STARTED) ?? reasons[0]
  return results.map(r => (r as PromiseFulfilledResult<T>).value)
}

interface BuiltStage {
  image: Image
  /** Its entry in the local cache; undefined while it is pending (lower layers only in REPO). */
  update?: RefUpdate
}

interface CachedPrefix {
  latest: number
  where: ('local' | 'repo' | undefined)[]
  base?: CachedStage
}

/** One `dimg build` run: shared temp space, lease, artifact roots. */
class BuildRun {
  private readonly artifactRoots = new Map<string, Promise<string>>()
  /** How to unpack the last stage of an artifact or image built in this run (its root may lag behind it). */
  private readonly builtArtifacts = new Map<string, () => Promise<string>>()
  /** Stages this run builds, by signature, for other dimgs that share them; undefined when it failed. */
  private readonly stagesThisRun = new Map<string, Promise<BuiltStage | undefined>>()
  private readonly basePulls = new Map<string, Promise<Descriptor['digest']>>()
  /** The last stage of every dimg done in this run, by signature: what a dimg built on it starts from. */
  private readonly lastImages = new Map<string, Image>()
  private readonly services: BuildServices
  private readonly roots: Root[] = []
  /** Where stage roots are kept between builds, opened when a stage first needs files. */
  private keptRoots: Promise<{kept: KeptRoots; overlay: boolean}> | undefined

  private constructor(
    private readonly ctx: WorkflowContext,
    private readonly project: Project,
    private readonly plan: ProjectPlan,
    private readonly caches: StageCaches,
    private readonly opts: BuildOptions,
    private readonly scratch: ScratchDir,
    private readonly store: OciStore,
    private readonly lease: Lease,
    private readonly mtimeClamp: number,
  ) {
    this.services = {
      store,
      lease,
      signal: ctx.signal,
      compression: opts.compression ?? 'gzip',
      mtimeClamp,
      ...(opts.isolation ? {isolation: opts.isolation} : {}),
      gitRoot: revision => {
        if (revision.repository !== undefined) return revision.repository
        if (!this.project.git) throw new SlipwayError('internal', 'git stage without a git repository')
        return this.project.git.root
      },
      output: (id, line) => ctx.reporter.output(id, line),
      phase: (id, name) => ctx.reporter.phase(id, name),
      baseImage: inputs => this.baseImage(inputs),
      mounts: (dimgName, specs) => this.mounts(dimgName, specs),
      artifactRoot: signature => this.artifactRoot(signature),
    }
  }

  static async start(ctx: WorkflowContext, project: Project, plan: ProjectPlan, caches: StageCaches, opts: BuildOptions): Promise<BuildRun> {
    ctx.signal.throwIfAborted()
    const store = await ctx.store()
    const mtimeClamp = layerClamp(project, ctx.env)
    const scratch = await makeScratchDir(ctx.home, 'build', ctx.env)
    try {
      // a mount that would expose the cache or the roots is refused before anything is built
      const planned = new Set(plan.dimgs.map(d => d.name))
      for (const m of project.config.dimgs.filter(d => planned.has(d.name)).flatMap(d => d.mounts)) {
        if (m.from === 'path') await hostMountDir(m.fromPath!, project.dir, guardedDirs(ctx))
      }
      return new BuildRun(ctx, project, plan, caches, opts, scratch, store, opts.lease ?? (await store.lease()), mtimeClamp)
    } catch (e) {
      await scratch.remove()
      throw e
    }
  }

  async finish(): Promise<void> {
    try {
      for (const root of this.roots) await root.close()
      await (await this.keptRoots?.catch(() => undefined))?.kept.evict(keptRootsBudgetBytes(this.ctx.env))
      if (!this.opts.lease) await this.lease.release()
    } finally {
      await this.scratch.remove()
    }
  }

  private newRoot(): Root {
    const services = {store: this.store, lease: this.lease, signal: this.ctx.signal, newDir: (kind: string) => this.newDir(kind), mtimeClamp: this.mtimeClamp}
    const root = new FirstUseRoot(services, () => (this.keptRoots ??= openKeptRoots(this.ctx.home, this.scratch.path, this.ctx.env)))
    this.roots.push(root)
    return root
  }

  private stageName(signature: string): string {
    return localStageName(this.project.name, signature, this.project.dev)
  }

  private async newDir(kind: string): Promise<string> {
    const dir = join(this.scratch.path, `${kind}-${randomBytes(4).toString('hex')}`)
    await mkdir(dir, {recursive: true})
    return dir
  }

  /** The one line of a stage that is not built: `web: install 3894e17bc28b: cached` (or `cached in REPO`). */
  private cachedLine(label: string, stage: PlannedStage, status: StageStatus): void {
    this.ctx.reporter.info(`${stageLabel(label, stage)}: ${status === 'cached-remote' ? 'cached in REPO' : 'cached'}`)
  }

  /**
   * The longest prefix of the dimg's stages the caches have: the last stage found (locally, else in REPO)
   * that resolves as that stage. A REPO tag whose image is not the stage is skipped (the cache warns).
   */
  private readonly prefixes = new Map<DimgPlan, Promise<CachedPrefix>>()

  /**
   * Looks up every dimg's cached prefix at once: a dimg waits for the artifacts it imports before it builds,
   * but what the caches hold for it does not depend on them, and each lookup is a few registry round trips.
   */
  lookUpCachedPrefixes(dimgs: DimgPlan[]): void {
    for (const dimg of dimgs) {
      const found = this.findCachedPrefix(dimg)
      found.catch(() => {}) // rethrown where buildDimg awaits it
      this.prefixes.set(dimg, found)
    }
  }

  private cachedPrefix(dimg: DimgPlan): Promise<CachedPrefix> {
    return this.prefixes.get(dimg) ?? this.findCachedPrefix(dimg)
  }

  private async findCachedPrefix(dimg: DimgPlan): Promise<CachedPrefix> {
    const where = await Promise.all(dimg.stages.map(s => this.caches.where(s.signature)))
    for (let latest = where.length - 1; latest >= 0; latest--) {
      if (!where[latest]) continue
      const base = await this.caches.resolve(dimg.stages[latest].signature)
      if (base) return {latest, where, base}
      where[latest] = undefined
    }
    return {latest: -1, where}
  }

  async buildDimg(dimg: DimgPlan): Promise<{report: DimgReport; outcome: DimgOutcome}> {
    const label = listedName(this.plan, dimg)
    const {latest, where, base} = await this.cachedPrefix(dimg)
    const outcomes: StageOutcome[] = dimg.stages.slice(0, latest + 1).map((s, i) => {
      // a stage below the one built on that neither cache has is never read: it counts as where that one is
      const status: StageStatus = (where[i] ?? base!.where) === 'local' ? 'cached' : 'cached-remote'
      return {name: s.name, signature: s.signature, status}
    })
    if (base) Object.assign(outcomes[latest], {image: base.image, ...(base.descriptor ? {descriptor: base.descriptor} : {})})
    for (const [i, o] of outcomes.entries()) this.cachedLine(label, dimg.stages[i], o.status)
    const reports: StageReport[] = outcomes.map(o => ({name: o.name, signature: o.signature, status: o.status, seconds: 0}))
    const done = (): {report: DimgReport; outcome: DimgOutcome} => ({
      report: {name: dimg.name, listedAs: label, isArtifact: dimg.isArtifact, signature: dimg.lastSignature, stages: reports},
      outcome: {name: dimg.name, stages: outcomes},
    })
    if (latest === dimg.stages.length - 1) {
      this.lastImages.set(dimg.lastSignature, base!.image)
      return done()
    }

    const root = this.newRoot()
    let image: Image | undefined = base?.image
    const built: BuiltStage[] = []
    for (const stage of dimg.stages.slice(latest + 1)) {
      this.ctx.signal.throwIfAborted()
      const id = `${label}: ${stage.name}`
      const pending = this.stagesThisRun.get(stage.signature)
      const sameStage = pending ? await pending : undefined
      if (sameStage) {
        // another dimg of this run built it (dimgs sharing their first stages): reuse it, as from the cache
        image = sameStage.image
        built.push(sameStage)
        outcomes.push({name: stage.name, signature: stage.signature, status: 'cached', image, ...(sameStage.update ? {descriptor: sameStage.update.descriptor} : {})})
        reports.push({name: stage.name, signature: stage.signature, status: 'cached', seconds: 0})
        this.cachedLine(label, stage, 'cached')
        continue
      }
      let settle: (built: BuiltStage | undefined) => void = () => {}
      this.stagesThisRun.set(stage.signature, new Promise(resolve => (settle = resolve)))
      const t0 = Date.now()
      this.ctx.reporter.begin(id, stageLabel(label, stage))
      try {
        const parent = image
        const work: StageWork = {
          dimgName: dimg.name,
          stage,
          ...(parent ? {parent} : {}),
          id,
          parentRoot: () => {
            if (!parent) throw new SlipwayError('internal', `stage ${stage.name} has no parent image`)
            this.ctx.reporter.phase(id, 'unpacking root')
            return root.of(parent)
          },
        }
        const result = await timed(`${stage.name} build`, () => (builderFor(stage.inputs.kind) as StageBuilder).build(this.services, work, stage.inputs as never))
        if (result.rootIsBuilt) await timed(`${stage.name} keep root`, () => root.holds(result.image))
        const labelled = this.labelled(dimg, stage, parent, result.image, result.ownerIds)
        image = labelled
        const update = await timed(`${stage.name} save`, () => this.save(stage, labelled))
        const stageBuilt: BuiltStage = {image, ...(update ? {update} : {})}
        built.push(stageBuilt)
        settle(stageBuilt)
        const seconds = (Date.now() - t0) / 1000
        outcomes.push({name: stage.name, signature: stage.signature, status: 'built', image, ...(update ? {descriptor: update.descriptor} : {})})
        reports.push({name: stage.name, signature: stage.signature, status: 'built', size: result.layer?.size ?? 0, seconds})
        const layerBytes = result.layer?.size ?? 0
        this.ctx.reporter.end(id, `built ${seconds.toFixed(1)}s${update ? '' : ' (lower layers in REPO)'}`, layerBytes > 0 ? {layerBytes} : undefined)
      } catch (e) {
        // a dimg waiting for this stage builds it itself
        this.stagesThisRun.delete(stage.signature)
        settle(undefined)
        this.ctx.reporter.end(id, this.ctx.signal.aborted ? 'interrupted' : 'failed')
        throw await this.stageFailure(e, id, label, stage, root)
      }
    }
    // a stage pending when it was built is complete once a later stage fetched the layers it stands on
    for (const [i, b] of built.entries()) {
      if (b.update) continue
      const stage = dimg.stages[latest + 1 + i]
      const update = await this.save(stage, b.image)
      if (!update) continue
      b.update = update
      outcomes[latest + 1 + i].descriptor = update.descriptor
    }
    // the stages enter the cache together, only once all of them succeeded
    const newRefs = built.flatMap(b => (b.update ? [b.update] : []))
    if (!this.project.dev && newRefs.length > 0) await timed('set refs', () => this.store.setRefs(newRefs))
    if (image) this.lastImages.set(dimg.lastSignature, image)
    if (dimg.name !== null && image) {
      const last = image
      this.builtArtifacts.set(dimg.lastSignature, async () => (await root.of(last)).path)
    }
    return done()
  }

  /** The built image with its stage labels; its blobs are the store's, then wherever the parent's are. */
  private labelled(dimg: DimgPlan, stage: PlannedStage, parent: Image | undefined, image: Image, ownerIds: Record<string, [number, number]> | undefined): Image {
    const labels = stageLabels({
      signature: stage.signature,
      stage: stage.name,
      parent: stage.parentSignature,
      dimg: dimg.name,
      isArtifact: dimg.isArtifact,
      project: this.project.name,
      cacheVersion: this.plan.cacheVersion,
      gitCommit: stage.gitCommit,
      gitContentRef: stage.gitContentRef,
      // every artifact stage this image was made with, its ancestors' included: cleanup can tell what a
      // final image needs even on a host that holds only the last stage of the chain
      imports: [
        ...new Set([
          ...(image.config.config?.Labels?.[LABEL.imports]?.split(',').filter(Boolean) ?? []),
          ...(stage.inputs.kind === 'imports' ? stage.inputs.imports.map(i => i.artifactSignature) : []),
          ...(stage.inputs.kind === 'from' && stage.inputs.base ? [stage.inputs.base.signature] : []),
        ]),
      ],
      ownerIds: {...recordedOwnerIds(image), ...ownerIds},
      dev: this.project.dev,
    })
    const source = storeThen(storeSource(this.store), parent?.source ?? image.source)
    return {...relabel(image, l => ({...withoutSlipwayLabels(l), ...labels})), source}
  }

  /**
   * Writes the stage's config and manifest when every layer it has is in the store (in --dev it enters the
   * dev cache at once); otherwise it stays pending and nothing is written.
   */
  private async save(stage: PlannedStage, image: Image): Promise<RefUpdate | undefined> {
    if ((await blobsMissingFrom(this.store, image)).length > 0) return undefined
    const update = await stageRefUpdate(this.store, this.lease, this.stageName(stage.signature), image)
    if (this.project.dev) await this.store.setRef(update.name, update.descriptor, update.annotations)
    return update
  }

  private async stageFailure(e: unknown, id: string, label: string, stage: PlannedStage, stageRoot: Root): Promise<unknown> {
    const root = stageRoot.path
    if (!(e instanceof StageCommandError)) return e
    this.ctx.reporter.failedOutput(id, e.outputTail)
    if (this.opts.introspectError) {
      if (this.ctx.interactive) {
        this.ctx.reporter.info(`${label}: ${stage.name} failed; opening a shell in its root (exit to continue)`)
        await runStage({root, commands: ['exec /bin/sh'], interactive: true, isolation: this.opts.isolation}).catch(() => {})
      } else {
        this.ctx.reporter.warn('--introspect-error needs a terminal; skipped')
      }
    }
    if (await filesystemFull(root)) {
      // an overlay root's writes land in its upper, among the kept roots in SLIPWAY_HOME
      const [where, setting] = stageRoot.keptIn ? [stageRoot.keptIn, 'SLIPWAY_HOME'] : [dirname(this.scratch.path), 'SLIPWAY_TMPDIR']
      return new SlipwayError('environment', `${label}: stage ${stage.name} failed: no space left on device in ${where} (a command exited with code ${e.commandExitCode})`, {
        hint: `free disk space (or set ${setting} to a bigger filesystem) and run again; nothing was added to the stages cache`,
        cause: e,
      })
    }
    return new SlipwayError('build', `${label}: stage ${stage.name} failed: a command exited with code ${e.commandExitCode}`, {
      hint: 'see its output above; nothing was added to the stages cache',
      cause: e,
    })
  }

  /**
   * The `from` stage: the base image, pulled when the store does not have it (always with fromLatest); built
   * on a dimg, that dimg's last stage wherever it is (nothing of it downloaded here).
   */
  private async baseImage(inputs: Extract<StageInputs, {kind: 'from'}>): Promise<Image> {
    if (inputs.base) {
      const image = this.lastImages.get(inputs.base.signature) ?? (await this.caches.resolve(inputs.base.signature))?.image
      if (!image) throw new SlipwayError('internal', `the last stage ${inputs.base.signature} of dimg ${inputs.base.dimg} is in no stages cache`)
      return image
    }
    const ref = parseImageRef(inputs.image)
    const name = formatRef(ref)
    const key = `${name}@${inputs.digest ?? ''}`
    let digest = this.basePulls.get(key)
    if (!digest) {
      // one pull per base image per run, however many dimgs start from it
      digest = (async () => {
        const desc = inputs.fromLatest ? undefined : await this.store.resolveRef(name)
        if (desc && (!inputs.digest || desc.digest === inputs.digest)) return desc.digest
        const pullRef = inputs.digest ? {registry: ref.registry, path: ref.path, digest: inputs.digest as Descriptor['digest']} : ref
        try {
          const pulled = await pullImages(this.ctx, [{ref: pullRef, name}])
          for (const b of pulled.blobs) if (b.outcome === 'pulled') this.caches.downloads.bytes += b.size
          return pulled.images[0].digest
        } catch (e) {
          if (e instanceof SlipwayError && e.kind === 'not-found') {
            throw new SlipwayError('not-found', `base image ${name} (from: ${inputs.image}) is not in its registry`, {
              hint: 'check the `from` reference in the dappfile, and that the image was pushed',
              cause: e,
            })
          }
          throw e
        }
      })()
      this.basePulls.set(key, digest)
    }
    await this.lease.add(await digest)
    return normalizeImage(await loadStoreImage(this.store, await digest))
  }

  private async mounts(dimgName: string | null, specs: MountSpec[]): Promise<SandboxMount[]> {
    return Promise.all(
      specs.map(async m => {
        if (m.from === 'path') return {hostPath: await hostMountDir(m.fromPath!, this.project.dir, guardedDirs(this.ctx)), path: m.to}
        const hostPath =
          m.from === 'tmp_dir' ? await this.newDir('mount') : join(buildDirFor(this.ctx.home, this.project.name, dimgName), m.to.replace(/^\/+/, '').replace(/\//g, '__'))
        await mkdir(hostPath, {recursive: true})
        return {hostPath, path: m.to}
      }),
    )
  }

  /**
   * The root filesystem of the stage an import copies from (an artifact's or image's last, or the one its
   * `stage:` names): from this run when it was built here, else unpacked from whichever cache has it
   * (downloaded only now, when an import stage is built).
   */
  private artifactRoot(signature: string): Promise<string> {
    let root = this.artifactRoots.get(signature)
    if (!root) {
      root = (async () => {
        const builtHere = this.builtArtifacts.get(signature)
        if (builtHere) return builtHere()
        const image = (await this.stagesThisRun.get(signature))?.image ?? (await this.caches.resolve(signature))?.image
        if (!image) throw new SlipwayError('internal', `the imported stage ${signature} is not in the stages cache`)
        return (await this.newRoot().of(image)).path
      })()
      this.artifactRoots.set(signature, root)
    }
    return root
  }
}

/**
 * Outside --dev stages are built from the commit: uncommitted changes to the files the planned dimgs map
 * are not in them. Said once, naming how many files and the first two.
 */
async function warnOfUncommittedChanges(ctx: WorkflowContext, project: Project, plan: ProjectPlan): Promise<void> {
  if (project.dev || !project.git) return
  const planned = new Set(plan.dimgs.map(d => d.name))
  const mappings = project.config.dimgs.filter(d => planned.has(d.name)).flatMap(d => d.git.filter(m => m.remote === undefined))
  const paths = await uncommittedPaths(project.git.root, mappings.flatMap(mappingPathspecs))
  if (paths.length === 0) return
  // a file name may hold anything but NUL: one with control characters is shown quoted, never raw on the terminal
  const named = paths.slice(0, 2).map(p => (/[\x00-\x1f\x7f]/.test(p) ? JSON.stringify(p) : p)).join(', ') + (paths.length > 2 ? ', …' : '')
  const files = paths.length === 1 ? '1 mapped file has' : `${paths.length} mapped files have`
  ctx.reporter.warn(`${files} uncommitted changes (${named}); they are not built: commit them, or build with --dev to build the work tree as it is`)
}

/** The git pathspecs of a mapping's files: its `add` path narrowed by its include and exclude globs. */
function mappingPathspecs(m: GitMapping): string[] {
  const base = m.add.replace(/^\/+|\/+$/g, '')
  const under = (glob: string) => (base === '' ? glob : `${base}/${glob}`)
  const include = m.includePaths.length === 0 ? [base === '' ? ':(top)' : `:(top,literal)${base}`] : m.includePaths.flatMap(g => [`:(top,glob)${under(g)}`, `:(top,glob)${under(g)}/**`])
  return [...include, ...m.excludePaths.flatMap(g => [`:(top,glob,exclude)${under(g)}`, `:(top,glob,exclude)${under(g)}/**`])]
}

/** How a stage is named in the log: `web: install 3894e17bc28b`. */
function stageLabel(dimgLabel: string, stage: PlannedStage): string {
  return `${dimgLabel}: ${stage.name} ${stage.signature.slice(0, 12)}`
}

/**
 * Whether the filesystem holding `dir` has no block left for us: a stage command that failed there failed for
 * want of space (its own message says so), which is the host's problem, not the stage's.
 */
async function filesystemFull(dir: string): Promise<boolean> {
  const st = await statfs(dir).catch(() => undefined)
  if (!st) return false
  return (process.getuid?.() === 0 ? st.bfree : st.bavail) === 0
}

/** What a `fromPath` mount must not expose: the home with the store and build dirs, the scratch area with the roots. */
function guardedDirs(ctx: WorkflowContext): GuardedDir[] {
  return [
    {path: ctx.home, what: 'SLIPWAY_HOME (the stages cache)'},
    {path: scratchBase(ctx.home, ctx.env), what: "slipway's scratch directory (the stage roots)"},
  ]
}

/** `$SLIPWAY_HOME/build/<project>/<dimg>`: the persistent `build_dir` mounts of a dimg. */
export function buildDirFor(home: string, project: string, dimg: string | null): string {
  return join(projectBuildDir(home, project), dimg === null ? '_' : nameComponent(dimg))
}

/** Layer timestamps are clamped to SOURCE_DATE_EPOCH, else the commit time, else the epoch. */
function layerClamp(project: Project, env: NodeJS.ProcessEnv): number {
  const sde = env.SOURCE_DATE_EPOCH
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new SlipwayError('usage', `SOURCE_DATE_EPOCH="${sde}" is not a number of seconds`)
    return Number(sde)
  }
  if (project.git) return project.git.headTime
  return 0
}
