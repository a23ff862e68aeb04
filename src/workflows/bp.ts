import type {ImageParts} from '../image/index.js'
import type {TagOptions} from '../naming/index.js'
import {localStageName} from '../naming/index.js'
import type {Repository} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import type {Lease} from '../store/index.js'
import {type BuildOptions, type BuildReport, buildProject, type DimgOutcome, stageRefUpdate} from './build.js'
import type {WorkflowContext} from './context.js'
import type {ProjectPlan} from '../project/index.js'
import {mergeResults, type SyncResult} from '../transfer/stage-sync.js'
import {pushFinalImages} from './push-final-images.js'
import {pushStages} from './push-stages.js'

export interface BuildAndPushOptions extends Omit<BuildOptions, 'repo' | 'lease' | 'onDimgBuilt'> {
  repo: Repository
  tags: TagOptions
  withStages?: boolean
}

export interface BuildAndPushResult {
  build: BuildReport
  push: SyncResult
  /** The whole run's registry traffic, build and push together. */
  bytesUploaded: number
  bytesDownloaded: number
}

/**
 * `dimg bp`: builds against the local store and REPO together, then pushes from wherever each stage is.
 * Stages built on stages that are only in REPO stay out of the local cache (their lower layers were never
 * downloaded): their config and manifest are written to the store under this run's lease, and the push
 * mounts the rest from REPO. With `withStages` each dimg's stages go up as soon as it is built.
 */
export async function buildAndPush(ctx: WorkflowContext, opts: BuildAndPushOptions): Promise<BuildAndPushResult> {
  const store = await ctx.store()
  const lease = await store.lease()
  try {
    const runStages: CollectedStages = {pending: new Map(), inRepo: new Set(), remote: new Map()}
    // per dimg: its pending stages recorded, then (with --with-stages) its stages pushed
    const afterEachDimg: Promise<SyncResult | undefined>[] = []
    const stagesClaimed = new Set<string>()
    const {plan, report} = await buildProject(ctx, {
      ...opts,
      lease,
      onDimgBuilt: (p, dimg, outcome) => {
        const done = recordPendingStages(ctx, p, outcome, lease, runStages).then(() =>
          opts.withStages ? pushStages(ctx, p, opts.repo, [dimg], runStages, stagesClaimed) : undefined,
        )
        done.catch(() => {}) // awaited below; a failed build must not leave it unhandled
        afterEachDimg.push(done)
      },
    })
    const stages = (await Promise.all(afterEachDimg)).filter((r): r is SyncResult => r !== undefined)
    const finals = await pushFinalImages(ctx, plan, opts.repo, {tags: opts.tags, runStages})
    const {bytesUploaded, bytesDownloaded} = ctx.transfers.totals
    return {build: report, push: mergeResults([...stages, finals]), bytesUploaded, bytesDownloaded}
  } finally {
    await lease.release()
  }
}

interface CollectedStages {
  pending: Map<string, Descriptor>
  inRepo: Set<string>
  remote: Map<string, ImageParts>
}

/** Writes the documents of the dimg's pending stages (built, not in the local cache) into the store, and notes those found in REPO. */
async function recordPendingStages(ctx: WorkflowContext, plan: ProjectPlan, outcome: DimgOutcome, lease: Lease, into: CollectedStages): Promise<void> {
  const store = await ctx.store()
  for (const stage of outcome.stages) {
    if (stage.status === 'cached-remote') into.inRepo.add(stage.signature)
    if (stage.status === 'cached-remote' && stage.image) into.remote.set(stage.signature, {manifest: stage.image.manifest, config: stage.image.config})
    if (stage.status !== 'built' || stage.descriptor || !stage.image || into.pending.has(stage.signature)) continue
    const name = localStageName(plan.project.name, stage.signature, plan.project.dev)
    into.pending.set(stage.signature, (await stageRefUpdate(store, lease, name, stage.image)).descriptor)
  }
}
