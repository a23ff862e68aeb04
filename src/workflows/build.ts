import {randomBytes} from 'node:crypto'
import {mkdir, rm, statfs} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import pLimit from 'p-limit'

import {
  commitTime,
  diffLayer,
  extractLayer,
  gitArchiveLayer,
  gitPatchChanges,
  gitPatchLayer,
  importLayer,
  type Isolation,
  type LayerBlob,
  type LayerCompression,
  type PathMapping,
  resolveImageUser,
  runStage,
  type SandboxMount,
  snapshot,
  StageCommandError,
  writeLayer,
} from '../build/index.js'
import {applyDockerInstructions} from '../build/docker-instructions.js'
import type {GitMapping, ImportSpec, MountSpec} from '../config/types.js'
import {SlipwayError} from '../errors.js'
import {formatRef, parseImageRef} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import {LABEL, localStageName, stageLabels, withoutSlipwayLabels} from '../naming/index.js'
import type {PlannedStage, StageInputs} from '../stage/plan.js'
import type {Lease, OciStore, RefUpdate} from '../store/index.js'
import type {WorkflowContext} from './context.js'
import {pullImages} from '../transfer/index.js'
import {type DimgPlan, listedName, type Project, type ProjectPlan} from './plan.js'
import {planWithCaches} from './project-plan.js'
import {makeScratchDir, type ScratchDir} from './scratch.js'
import {appendLayer, consumeLayer, extractImage, type ImageState, loadImage, normalizeImage, saveImage, storeLayer, withContainerConfig} from './stage-image.js'

export interface BuildOptions {
  dir: string
  dimgs?: string[]
  dev?: boolean
  /** Called as soon as a dimg (all its stages) is in the local cache, while others may still build. */
  onDimgBuilt?: (plan: ProjectPlan, dimg: DimgPlan) => void
  isolation?: Isolation
  compression?: LayerCompression
  /** On a failed stage, open an interactive shell in its root (needs a TTY). */
  introspectError?: boolean
  /** Dimgs built at the same time. */
  parallel?: number
}

export interface StageReport {
  name: string
  signature: string
  status: 'built' | 'cached'
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

export interface BuildReport {
  project: string
  dev: boolean
  built: number
  cached: number
  seconds: number
  dimgs: DimgReport[]
}

/** Builds every stage of the plan that the local stages cache does not have. */
export async function buildProject(ctx: WorkflowContext, opts: BuildOptions): Promise<{plan: ProjectPlan; report: BuildReport}> {
  const started = Date.now()
  const {project, plan} = await planWithCaches(ctx, opts)
  const run = await BuildRun.start(ctx, project, plan, opts)
  try {
    const limit = pLimit(Math.max(1, opts.parallel ?? 2))
    const finished = new Map<string, Promise<DimgReport>>()
    for (const dimg of plan.dimgs) {
      const deps = dimg.imports.map(name => finished.get(name)!)
      const task = Promise.all(deps)
        .then(() => limit(() => run.buildDimg(dimg)))
        .then(report => {
          opts.onDimgBuilt?.(plan, dimg)
          return report
        })
      // a failed dependency fails its importers without building them
      task.catch(() => {})
      if (dimg.name !== null) finished.set(dimg.name, task)
      else finished.set('', task)
    }
    const reports = await settleInOrder([...finished.values()])
    const stages = reports.flatMap(r => r.stages)
    return {
      plan,
      report: {
        project: project.name,
        dev: project.dev,
        built: stages.filter(s => s.status === 'built').length,
        cached: stages.filter(s => s.status === 'cached').length,
        seconds: (Date.now() - started) / 1000,
        dimgs: reports,
      },
    }
  } finally {
    await run.finish()
  }
}

/** Waits for all tasks; rethrows the first failure (in plan order) after every task has settled. */
async function settleInOrder<T>(tasks: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks)
  const failed = results.find(r => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  return results.map(r => (r as PromiseFulfilledResult<T>).value)
}

function dimgLabel(plan: ProjectPlan, dimg: DimgPlan): string {
  return listedName(plan, dimg)
}

function toPathMapping(m: GitMapping | ImportSpec, ids: {uid?: number; gid?: number}): PathMapping {
  return {
    add: m.add,
    to: m.to,
    includePaths: m.includePaths,
    excludePaths: m.excludePaths,
    ...(ids.uid === undefined ? {} : {owner: ids.uid}),
    ...(ids.gid === undefined ? {} : {group: ids.gid}),
  }
}

/** owner/group names resolved against the image being built, as `chown` in the image would. */
async function ownerIds(root: string, owner?: string, group?: string): Promise<{uid?: number; gid?: number}> {
  if (owner === undefined && group === undefined) return {}
  const user = await resolveImageUser(root, `${owner ?? '0'}${group === undefined ? '' : `:${group}`}`)
  return {...(owner === undefined ? {} : {uid: user.uid}), gid: user.gid}
}

interface BuiltStage {
  image: ImageState
  update: RefUpdate
}

/** One `dimg build` run: shared temp space, lease, artifact roots. */
class BuildRun {
  private readonly artifactRoots = new Map<string, Promise<string>>()
  /** Stages this run builds, by signature, for other dimgs that share them; undefined when it failed. */
  private readonly stagesThisRun = new Map<string, Promise<BuiltStage | undefined>>()
  private readonly basePulls = new Map<string, Promise<Descriptor['digest']>>()
  private readonly store: OciStore
  private readonly lease: Lease
  private readonly mtimeClamp: number
  private readonly compression: LayerCompression

  private constructor(
    private readonly ctx: WorkflowContext,
    private readonly project: Project,
    private readonly plan: ProjectPlan,
    private readonly opts: BuildOptions,
    private readonly scratch: ScratchDir,
    store: OciStore,
    lease: Lease,
    mtimeClamp: number,
  ) {
    this.store = store
    this.lease = lease
    this.mtimeClamp = mtimeClamp
    this.compression = opts.compression ?? 'gzip'
  }

  static async start(ctx: WorkflowContext, project: Project, plan: ProjectPlan, opts: BuildOptions): Promise<BuildRun> {
    ctx.signal.throwIfAborted()
    const store = await ctx.store()
    const mtimeClamp = await layerClamp(project, ctx.env)
    const scratch = await makeScratchDir(ctx.home, 'build', ctx.env)
    try {
      return new BuildRun(ctx, project, plan, opts, scratch, store, await store.lease(), mtimeClamp)
    } catch (e) {
      await scratch.remove()
      throw e
    }
  }

  async finish(): Promise<void> {
    try {
      await this.lease.release()
    } finally {
      await this.scratch.remove()
    }
  }

  private stageName(signature: string): string {
    return localStageName(this.project.name, signature, this.project.dev)
  }

  private async newDir(kind: string): Promise<string> {
    const dir = join(this.scratch.path, `${kind}-${randomBytes(4).toString('hex')}`)
    await mkdir(dir, {recursive: true})
    return dir
  }

  async buildDimg(dimg: DimgPlan): Promise<DimgReport> {
    const label = dimgLabel(this.plan, dimg)
    const cached = await Promise.all(dimg.stages.map(s => this.store.resolveRef(this.stageName(s.signature))))
    let latest = cached.length - 1
    while (latest >= 0 && !cached[latest]) latest--
    const reports: StageReport[] = dimg.stages.slice(0, latest + 1).map(s => ({name: s.name, signature: s.signature, status: 'cached', seconds: 0}))
    for (const s of dimg.stages.slice(0, latest + 1)) this.ctx.reporter.info(`${label}: ${s.name} ${s.signature.slice(0, 12)} cached`)
    const result: DimgReport = {name: dimg.name, listedAs: label, isArtifact: dimg.isArtifact, signature: dimg.lastSignature, stages: reports}
    if (latest === dimg.stages.length - 1) {
      return result
    }

    let root = await this.newDir('root')
    let image: ImageState | undefined = latest >= 0 ? await loadImage(this.store, cached[latest]!.digest) : undefined
    let extracted = false
    const ensureRoot = async (): Promise<void> => {
      if (extracted || !image) return
      await extractImage(this.store, image, root, this.ctx.signal)
      extracted = true
    }
    const newRefs: RefUpdate[] = []
    for (const stage of dimg.stages.slice(latest + 1)) {
      this.ctx.signal.throwIfAborted()
      const id = `${label}/${stage.name}`
      const pending = this.stagesThisRun.get(stage.signature)
      const sameStage = pending ? await pending : undefined
      if (sameStage) {
        // another dimg of this run built it (dimgs sharing their first stages): reuse it, as from the cache
        image = sameStage.image
        if (!this.project.dev) newRefs.push(sameStage.update)
        if (extracted) {
          await rm(root, {recursive: true, force: true})
          root = await this.newDir('root')
          extracted = false
        }
        reports.push({name: stage.name, signature: stage.signature, status: 'cached', seconds: 0})
        this.ctx.reporter.info(`${label}: ${stage.name} ${stage.signature.slice(0, 12)} cached`)
        continue
      }
      let settle: (built: BuiltStage | undefined) => void = () => {}
      this.stagesThisRun.set(stage.signature, new Promise(resolve => (settle = resolve)))
      const t0 = Date.now()
      this.ctx.reporter.begin(id, `${label}: ${stage.name} ${stage.signature.slice(0, 12)}`)
      let layer: LayerBlob | undefined
      try {
        if (stage.inputs.kind === 'from') {
          image = await this.baseImage(stage.inputs)
        } else {
          if (!image) throw new SlipwayError('internal', `stage ${stage.name} has no parent image`)
          await ensureRoot()
          extracted = true
          ;({image, layer} = await this.buildStage(dimg, stage, image, root, id))
        }
      } catch (e) {
        // a dimg waiting for this stage builds it itself
        this.stagesThisRun.delete(stage.signature)
        settle(undefined)
        this.ctx.reporter.end(id, 'failed')
        throw await this.stageFailure(e, label, stage, root)
      }
      const created = new Date().toISOString()
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
          ]),
        ],
        dev: this.project.dev,
      })
      image = withContainerConfig(image, c => ({...c, Labels: {...withoutSlipwayLabels(c.Labels), ...labels}}))
      const annotations = {...labels, 'org.opencontainers.image.created': created}
      let update: RefUpdate
      try {
        const descriptor: Descriptor = await saveImage(this.store, this.lease, image, annotations, created)
        update = {name: this.stageName(stage.signature), descriptor, annotations}
        if (this.project.dev) await this.store.setRef(update.name, update.descriptor, update.annotations)
      } catch (e) {
        this.stagesThisRun.delete(stage.signature)
        settle(undefined)
        throw e
      }
      if (!this.project.dev) newRefs.push(update)
      settle({image, update})
      const seconds = (Date.now() - t0) / 1000
      reports.push({name: stage.name, signature: stage.signature, status: 'built', size: layer?.size ?? 0, seconds})
      this.ctx.reporter.end(id, `built in ${seconds.toFixed(1)}s`)
    }
    // the stages enter the cache together, only once all of them succeeded
    if (newRefs.length > 0) await this.store.setRefs(newRefs)
    if (dimg.isArtifact && dimg.name !== null) this.artifactRoots.set(dimg.lastSignature, Promise.resolve(root))
    return result
  }

  private async stageFailure(e: unknown, label: string, stage: PlannedStage, root: string): Promise<unknown> {
    if (!(e instanceof StageCommandError)) return e
    if (!this.ctx.reporter.showsOutput) for (const line of e.outputTail) process.stderr.write(`[${label}: ${stage.name}] ${line}\n`)
    if (this.opts.introspectError) {
      if (process.stdin.isTTY && process.stdout.isTTY) {
        this.ctx.reporter.info(`${label}: ${stage.name} failed; opening a shell in its root (exit to continue)`)
        await runStage({root, commands: ['exec /bin/sh'], interactive: true, isolation: this.opts.isolation}).catch(() => {})
      } else {
        this.ctx.reporter.warn('--introspect-error needs a terminal; skipped')
      }
    }
    if (await filesystemFull(root)) {
      return new SlipwayError('environment', `${label}: stage ${stage.name} failed: no space left on device in ${dirname(this.scratch.path)} (a command exited with code ${e.commandExitCode})`, {
        hint: 'free disk space (or set SLIPWAY_TMPDIR to a bigger filesystem) and run again; nothing was added to the stages cache',
        cause: e,
      })
    }
    return new SlipwayError('build', `${label}: stage ${stage.name} failed: a command exited with code ${e.commandExitCode}`, {
      hint: 'see its output above; nothing was added to the stages cache',
      cause: e,
    })
  }

  /** The `from` stage: the base image, pulled when the store does not have it (always with fromLatest). */
  private async baseImage(inputs: Extract<StageInputs, {kind: 'from'}>): Promise<ImageState> {
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
          return (await pullImages(this.ctx, [{ref: pullRef, name}])).images[0].digest
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
    return normalizeImage(await loadImage(this.store, await digest))
  }

  private async buildStage(dimg: DimgPlan, stage: PlannedStage, image: ImageState, root: string, id: string): Promise<{image: ImageState; layer?: LayerBlob}> {
    const inputs = stage.inputs
    const history = {created: new Date().toISOString(), created_by: `slipway ${stage.name}`}
    switch (inputs.kind) {
      case 'docker': {
        return {image: appendLayer(withContainerConfig(image, c => applyDockerInstructions(c, inputs.instructions)), undefined, history)}
      }
      case 'gitArchive': {
        const mappings = await this.gitMappings(root, inputs.mappings)
        const layer = await storeLayer(
          this.store,
          this.lease,
          await gitArchiveLayer({repoDir: this.gitRoot(), commit: inputs.revision.contentRef, mappings, mtime: this.mtimeClamp, compression: this.compression}),
        )
        await extractLayer(await this.store.openBlob(layer.digest), root, {label: layer.digest, signal: this.ctx.signal})
        return {image: appendLayer(image, layer, history), layer}
      }
      case 'gitLatestPatch': {
        const mappings = await this.gitMappings(root, inputs.mappings)
        const patch = await gitPatchChanges({repoDir: this.gitRoot(), fromCommit: inputs.fromCommit, toCommit: inputs.revision.contentRef, mappings})
        const layer = await storeLayer(
          this.store,
          this.lease,
          await gitPatchLayer(patch, {repoDir: this.gitRoot(), mappings, mtime: this.mtimeClamp, compression: this.compression}),
        )
        await extractLayer(await this.store.openBlob(layer.digest), root, {label: layer.digest, signal: this.ctx.signal})
        return {image: appendLayer(image, layer, history), layer}
      }
      case 'imports': {
        const before = await snapshot(root)
        for (const imp of inputs.imports) {
          const srcRoot = await this.artifactRoot(imp.artifactSignature)
          const mapping = toPathMapping(imp, await ownerIds(root, imp.owner, imp.group))
          const files = await importLayer({srcRoot, mappings: [mapping], mtimeClamp: this.mtimeClamp, compression: 'none'})
          await consumeLayer(extractLayer(files.stream, root, {label: `import from ${imp.artifact}`, signal: this.ctx.signal}), files.done)
        }
        return this.layerFromChanges(image, root, before, {...history, created_by: `slipway ${stage.name}: ${inputs.imports.map(i => `${i.artifact}:${i.add} → ${i.to}`).join(', ')}`})
      }
      case 'shell': {
        const before = await snapshot(root)
        if (inputs.git) await this.bringGitFilesUpToDate(image, root, inputs.git.mappings, inputs.git.revision.contentRef)
        const config = image.config.config ?? {}
        const mounts = await this.mounts(dimg, inputs.mounts)
        await runStage({
          root,
          commands: inputs.commands,
          env: config.Env,
          user: config.User,
          workingDir: config.WorkingDir,
          mounts,
          isolation: this.opts.isolation,
          onOutput: line => this.ctx.reporter.output(id, line),
          signal: this.ctx.signal,
        })
        return this.layerFromChanges(image, root, before, {...history, created_by: `/bin/sh -ec ${JSON.stringify(inputs.commands.join('\n'))}`})
      }
      default:
        throw new SlipwayError('internal', `unexpected stage kind ${(inputs as {kind: string}).kind}`)
    }
  }

  private async layerFromChanges(image: ImageState, root: string, before: Awaited<ReturnType<typeof snapshot>>, history: {created: string; created_by: string}): Promise<{image: ImageState; layer?: LayerBlob}> {
    const changes = await diffLayer(before, root)
    if (changes.length === 0) return {image: appendLayer(image, undefined, history)}
    const layer = await storeLayer(this.store, this.lease, writeLayer(root, changes, {mtimeClamp: this.mtimeClamp, compression: this.compression, hostIds: rootlessIds()}))
    return {image: appendLayer(image, layer, history), layer}
  }

  /** Before a rebuilt user stage: the mapped files brought from the commit the parent recorded to the current one. */
  private async bringGitFilesUpToDate(image: ImageState, root: string, gitMappings: GitMapping[], target: string): Promise<void> {
    const recorded = image.config.config?.Labels?.[LABEL.gitContentRef]
    if (!recorded || recorded === target) return
    const mappings = await this.gitMappings(root, gitMappings)
    const patch = await gitPatchChanges({repoDir: this.gitRoot(), fromCommit: recorded, toCommit: target, mappings})
    if (patch.empty) return
    const layer = await gitPatchLayer(patch, {repoDir: this.gitRoot(), mappings, mtime: this.mtimeClamp, compression: 'none'})
    await consumeLayer(extractLayer(layer.stream, root, {label: 'git patch', signal: this.ctx.signal}), layer.done)
  }

  private gitRoot(): string {
    if (!this.project.git) throw new SlipwayError('internal', 'git stage without a git repository')
    return this.project.git.root
  }

  private async gitMappings(root: string, mappings: GitMapping[]): Promise<PathMapping[]> {
    return Promise.all(mappings.map(async m => toPathMapping(m, await ownerIds(root, m.owner, m.group))))
  }

  private async mounts(dimg: DimgPlan, specs: MountSpec[]): Promise<SandboxMount[]> {
    return Promise.all(
      specs.map(async m => {
        const hostPath =
          m.from === 'tmp_dir' ? await this.newDir('mount') : join(buildDirFor(this.ctx.home, this.project.name, dimg.name), m.to.replace(/^\/+/, '').replace(/\//g, '__'))
        await mkdir(hostPath, {recursive: true})
        return {hostPath, path: m.to}
      }),
    )
  }

  /** The root filesystem of an artifact's last stage: from this run when it was built here, else unpacked. */
  private artifactRoot(signature: string): Promise<string> {
    let root = this.artifactRoots.get(signature)
    if (!root) {
      root = (async () => {
        const desc = await this.store.resolveRef(this.stageName(signature))
        if (!desc) throw new SlipwayError('internal', `artifact stage ${signature} is not in the stages cache`)
        const dir = await this.newDir('artifact')
        await extractImage(this.store, await loadImage(this.store, desc.digest), dir, this.ctx.signal)
        return dir
      })()
      this.artifactRoots.set(signature, root)
    }
    return root
  }
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

/** Unprivileged builds map root in the sandbox to our own ids; a root build needs no mapping. */
function rootlessIds(): {uid: number; gid: number} | undefined {
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  return uid === undefined || gid === undefined || uid === 0 ? undefined : {uid, gid}
}

/** `$SLIPWAY_HOME/build/<project>/<dimg>`: the persistent `build_dir` mounts of a dimg. */
export function buildDirFor(home: string, project: string, dimg: string | null): string {
  return join(home, 'build', project, dimg ?? '_')
}

/** Layer timestamps are clamped to SOURCE_DATE_EPOCH, else the commit time, else the epoch. */
async function layerClamp(project: Project, env: NodeJS.ProcessEnv): Promise<number> {
  const sde = env.SOURCE_DATE_EPOCH
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new SlipwayError('usage', `SOURCE_DATE_EPOCH="${sde}" is not a number of seconds`)
    return Number(sde)
  }
  if (project.git) return commitTime(project.git.root, project.git.headCommit)
  return 0
}
