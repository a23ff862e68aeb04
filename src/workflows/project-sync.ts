import type {TagOptions} from '../naming/index.js'
import type {Repository} from '../oci/ref.js'
import type {WorkflowContext} from './context.js'
import {type ProjectPlan, stagesListingJson, type StagesListingJson} from './plan.js'
import {type PlanRequest, planWithCaches} from './project-plan.js'
import {pullStages, pushFinalImages, pushStages, type SyncResult} from './registry-sync.js'

/** REPO as the command got it (listings name the stages `REPO:dimgstage-…` in the user's spelling) and parsed. */
export interface RepoRequest {
  repo: Repository
  repoText: string
}

/**
 * `dimg push` and `spush`: the project planned as `plan` asks (push plans against REPO's stages too, so a
 * dimg whose last stage only REPO has is pushed from there; spush plans from the local cache), then its
 * final images pushed.
 */
export async function pushProject(ctx: WorkflowContext, plan: PlanRequest, push: {repo: Repository; tags: TagOptions; withStages?: boolean; asIs?: boolean}): Promise<SyncResult> {
  const planned = await planWithCaches(ctx, plan)
  return pushFinalImages(ctx, planned.plan, push.repo, {tags: push.tags, withStages: push.withStages, asIs: push.asIs})
}

/** `dimg stages push`: the planned stages pushed to REPO, or with `dryRun` the listing of them. */
export async function pushProjectStages(ctx: WorkflowContext, req: PlanRequest & RepoRequest & {dryRun?: boolean}): Promise<SyncResult | StagesListingJson> {
  const {plan} = await planWithCaches(ctx, {dir: req.dir, dimgs: req.dimgs, dev: req.dev})
  if (req.dryRun) return stagesListingJson(plan, req.repoText)
  return pushStages(ctx, plan, req.repo)
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
