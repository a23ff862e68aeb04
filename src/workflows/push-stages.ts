import type {Repository} from '../oci/ref.js'
import {type PlanRequest, planWithCaches, type ProjectPlan, stagesListingJson, type StagesListingJson} from '../project/index.js'
import {pushImages, totalsOf} from '../transfer/index.js'
import {NO_RUN_STAGES, type RunStages, stagePushItems, type SyncResult, withPushOutcomes} from '../transfer/stage-sync.js'
import type {WorkflowContext} from './context.js'

/**
 * `dimg stages push`: the stages cache as `REPO:dimgstage-<signature>`, first writer wins. `dimgs` narrows
 * it to some of the plan's dimgs (bp pushes each dimg's stages as soon as it is built, sharing `claimed`: the
 * signatures an earlier call of the run took, so that a stage two dimgs share is pushed, and logged, once).
 */
export async function pushStages(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, dimgs = plan.dimgs, runStages: RunStages = NO_RUN_STAGES, claimed = new Set<string>()): Promise<SyncResult> {
  const {items, rows} = await stagePushItems(ctx, plan, repo, runStages, dimgs, false, claimed)
  const result = await pushImages(ctx, items)
  withPushOutcomes(rows, result.images)
  return {stages: rows, images: [], blobs: totalsOf(result.blobs)}
}


/** REPO as the command got it (listings name the stages `REPO:dimgstage-…` in the user's spelling) and parsed. */
export interface RepoRequest {
  repo: Repository
  repoText: string
}

/** `dimg stages push`: the planned stages pushed to REPO, or with `dryRun` the listing of them. */
export async function pushProjectStages(ctx: WorkflowContext, req: PlanRequest & RepoRequest & {dryRun?: boolean}): Promise<SyncResult | StagesListingJson> {
  const {plan} = await planWithCaches(ctx, {dir: req.dir, dimgs: req.dimgs, dev: req.dev})
  if (req.dryRun) return stagesListingJson(plan, req.repoText)
  return pushStages(ctx, plan, req.repo)
}
