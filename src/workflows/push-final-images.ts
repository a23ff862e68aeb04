import {SlipwayError} from '../errors.js'
import {currentBranch} from '../git/branch.js'
import {finalImageOf, finalImageOfRemoteStage} from '../image/index.js'
import {finalImageRepository, resolveTags, type TagOptions} from '../naming/index.js'
import {formatRef, type Repository, withTag} from '../oci/ref.js'
import {listedName, type PlanRequest, planWithCaches, type ProjectPlan} from '../project/index.js'
import {pushImages, type PushItem, totalsOf} from '../transfer/index.js'
import {type FinalImageTransfer, locateLastStage, NO_RUN_STAGES, type RunStages, stagePushItems, type StageTransfer, type SyncResult, withPushOutcomes} from '../transfer/stage-sync.js'
import type {WorkflowContext} from './context.js'

export interface FinalPushOptions {
  tags: TagOptions
  withStages?: boolean
  /** spush: push the one dimg to REPO itself, not REPO/DIMG. */
  asIs?: boolean
  /** bp: the stages its build left outside the local cache. */
  runStages?: RunStages
}

/**
 * `dimg push` / `spush`: final images by the naming rules, and with `withStages` the stages cache too. A
 * dimg whose last stage is only in REPO gets its final image made in the registry: config and manifest
 * written here, layers mounted from REPO (copied registry to registry, streamed, where a mount is refused).
 * REPO is every final image's first mount source, so layers its stages carry are never uploaded again.
 */
export async function pushFinalImages(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, opts: FinalPushOptions): Promise<SyncResult> {
  const {gitRoot, headCommit} = plan.project
  // git is asked only when a tag option needs the branch
  const branch = gitRoot && opts.tags.tagBranch ? await currentBranch(gitRoot) : undefined
  const tags = resolveTags(opts.tags, {branch, commit: headCommit}, ctx.env)
  const store = await ctx.store()
  const dimgs = plan.dimgs.filter(d => !d.isArtifact && d.selected)
  if (opts.asIs && dimgs.length !== 1) {
    throw new SlipwayError('usage', `spush pushes exactly one dimg, but ${dimgs.length} are selected (${dimgs.map(d => listedName(plan, d)).join(', ')})`, {
      hint: 'name the dimg: slipway dimg spush DIMG REPO',
    })
  }
  const lease = await store.lease()
  try {
    const items: PushItem[] = []
    const images: FinalImageTransfer[] = []
    // every dimg's final image documents at once (each is a few store writes); listed in plan order
    const made = await Promise.all(
      dimgs.map(async dimg => {
        const stage = await locateLastStage(ctx, plan, dimg, repo, opts.runStages ?? NO_RUN_STAGES)
        const manifest = stage.at === 'local'
          ? await finalImageOf(store, lease, stage.descriptor, dimg.name, dimg.lastSignature)
          : await finalImageOfRemoteStage(store, lease, stage.stage, stage.annotations, dimg.name, dimg.lastSignature)
        return {dimg, stage, manifest}
      }),
    )
    for (const {dimg, stage, manifest} of made) {
      const target = opts.asIs ? repo : finalImageRepository(repo, dimg.name)
      for (const tag of tags) {
        const ref = withTag(target, tag)
        items.push({manifest, ref, source: repo})
        images.push({dimg: listedName(plan, dimg), image: formatRef(ref), digest: manifest.digest, stageSignature: dimg.lastSignature, madeFrom: stage.at})
      }
    }
    let stageRows: StageTransfer[] = []
    if (opts.withStages) {
      const stages = await stagePushItems(ctx, plan, repo, opts.runStages ?? NO_RUN_STAGES, plan.dimgs, true)
      items.unshift(...stages.items)
      stageRows = stages.rows
    }
    const result = await pushImages(ctx, items)
    withPushOutcomes(stageRows, result.images)
    return {stages: stageRows, images, blobs: totalsOf(result.blobs)}
  } finally {
    await lease.release()
  }
}

/**
 * `dimg push` and `spush`: the project planned as `plan` asks (push plans against REPO's stages too, so a
 * dimg whose last stage only REPO has is pushed from there; spush plans from the local cache), then its
 * final images pushed.
 */
export async function pushProject(ctx: WorkflowContext, plan: PlanRequest, push: Omit<FinalPushOptions, 'runStages'> & {repo: Repository}): Promise<SyncResult> {
  const {repo, ...opts} = push
  const planned = await planWithCaches(ctx, plan)
  return pushFinalImages(ctx, planned.plan, repo, opts)
}
