import pLimit from 'p-limit'

import {lookUpStageTag, mismatchWarning} from '../cache/stage-tags.js'
import {localStageName} from '../naming/index.js'
import {formatRef, type Ref, type Repository} from '../oci/ref.js'
import type {FetchedManifest} from '../registry/index.js'
import {type DimgPlan, listedName, type PlanRequest, planWithCaches, type ProjectPlan, stagesListingJson, type StagesListingJson} from '../project/index.js'
import {pullImages, totalsOf} from '../transfer/index.js'
import {localStage, stageRef, type StageTransfer, type SyncResult} from '../transfer/stage-sync.js'
import type {WorkflowContext} from './context.js'
import type {RepoRequest} from './push-stages.js'

/**
 * `dimg stages pull`: the stages the current project state needs. Without `all`, for each dimg (artifacts
 * included) only the latest planned stage REPO has — walking from the end, stopping at the first one the
 * local cache or REPO has; with `all`, every planned stage REPO has.
 */
export async function pullStages(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, opts: {all?: boolean} = {}): Promise<SyncResult> {
  const limit = pLimit(ctx.jobs)
  const rows: StageTransfer[] = []
  const wanted = new Map<string, {ref: Ref; row: StageTransfer; prefetched: FetchedManifest}>()
  const consider = async (dimg: DimgPlan, signature: string, stage: string): Promise<'local' | 'remote' | 'absent'> => {
    const ref = stageRef(repo, signature)
    const row: StageTransfer = {dimg: listedName(plan, dimg), stage, signature, image: formatRef(ref), status: 'absent'}
    rows.push(row)
    if (await localStage(ctx, plan.project, signature)) {
      row.status = 'present'
      return 'local'
    }
    // a HEAD says whether it is there, then one GET says what it is (the pull below reuses it)
    const found = await lookUpStageTag(ctx, repo, {signature, cacheVersion: plan.cacheVersion, project: plan.project.name})
    if (found.found === 'absent') return 'absent'
    if (found.found === 'mismatch') {
      row.status = 'mismatch'
      ctx.reporter.warn(mismatchWarning(repo, signature, found.reason))
      return 'absent'
    }
    wanted.set(signature, {ref, row, prefetched: found.fetched})
    return 'remote'
  }
  await Promise.all(
    plan.dimgs.map(dimg =>
      limit(async () => {
        if (opts.all) {
          await Promise.all(dimg.stages.map(s => consider(dimg, s.signature, s.name)))
          return
        }
        for (const [i, s] of [...dimg.stages.entries()].reverse()) {
          if ((await consider(dimg, s.signature, s.name)) === 'absent') continue
          // The latest patch was planned from the commit the stage before it recorded; the build plans
          // from the local cache alone, so that stage has to be here too for both to agree.
          const patch = dimg.stages.findIndex(x => x.name === 'gitLatestPatch')
          if (patch > 0 && patch <= i) await consider(dimg, dimg.stages[patch - 1].signature, dimg.stages[patch - 1].name)
          return
        }
      }),
    ),
  )
  const pulled = await pullImages(
    ctx,
    [...wanted.entries()].map(([signature, {ref, prefetched}]) => ({
      ref,
      name: localStageName(plan.project.name, signature, plan.project.dev),
      keepManifestAnnotations: true,
      prefetched,
    })),
  )
  const digests = new Map(pulled.images.map(i => [i.ref, i.digest]))
  for (const {row} of wanted.values()) Object.assign(row, {status: 'pulled', digest: digests.get(row.image)})
  return {stages: rows, images: [], blobs: totalsOf(pulled.blobs)}
}

/** `dimg stages pull`: the stages the project needs pulled from REPO, or with `dryRun` the listing of those looked for, in lookup order. */
export async function pullProjectStages(ctx: WorkflowContext, req: PlanRequest & RepoRequest & {all?: boolean; dryRun?: boolean}): Promise<SyncResult | StagesListingJson> {
  const {plan} = await planWithCaches(ctx, {dir: req.dir, dimgs: req.dimgs, dev: req.dev, repo: req.repo})
  if (req.dryRun) return stagesListingJson(lookupOrder(plan, req.all ?? false), req.repoText)
  return pullStages(ctx, plan, req.repo, {all: req.all})
}

/** Without `all`, stages are looked for from the last one back: list them in that order. */
function lookupOrder(plan: ProjectPlan, all: boolean): ProjectPlan {
  return all ? plan : {...plan, dimgs: plan.dimgs.map(d => ({...d, stages: [...d.stages].reverse()}))}
}
