import {carryOut, type CleanupResult, finalImagesFor, type GatheredStage, stagesCacheAt, stagesIn} from '../cache/index.js'
import {cleanupPlan, type CleanupPolicy, commitsToCheck} from '../cleanup/index.js'
import {SlipwayError} from '../errors.js'
import {existingCommits} from '../git/objects.js'
import {formatRef, type Repository} from '../oci/ref.js'
import {loadProject, type Project} from '../project/index.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {WorkflowContext} from './context.js'

export interface CleanupRequest {
  dir: string
  policies: CleanupPolicy[]
  /** Required for repo cleanups and for the improper-repo-cache policy. */
  repo?: Repository
  keepYoungerThanMs: number
  force?: boolean
  dryRun?: boolean
}

async function commitsThatExist(project: Project, stages: GatheredStage[]): Promise<Set<string>> {
  return existingCommits(project.git!.root, commitsToCheck(stages.map(s => s.input)))
}

/** `dimg stages cleanup local|repo`: the chosen policies, with the grace period and the safety rules. */
export async function cleanupStages(ctx: WorkflowContext, where: 'local' | 'repo', req: CleanupRequest): Promise<CleanupResult> {
  if (req.policies.length === 0) {
    throw new SlipwayError('usage', 'no cleanup policy given', {hint: 'add --improper-repo-cache, --improper-git-commit and/or --improper-cache-version'})
  }
  if ((where === 'repo' || req.policies.includes('improper-repo-cache')) && !req.repo) {
    throw new SlipwayError('usage', '--improper-repo-cache needs REPO: the registry repository whose final images are kept', {
      hint: 'slipway dimg stages cleanup local --improper-repo-cache REPO',
    })
  }
  const project = await loadProject(req.dir)
  if (req.policies.includes('improper-git-commit') && !project.git) {
    throw new SlipwayError('usage', `--improper-git-commit: ${project.dir} is not in a git repository with commits`, {hint: 'run it in the project work tree'})
  }
  const cache = await stagesCacheAt(ctx, project, where, req)
  const stages = await stagesIn(cache)
  // REPO's final images also protect the stages they use from the other policies (unless --force)
  const finals = req.repo ? await finalImagesFor(ctx, project, cache, req.repo) : []
  const plan = cleanupPlan({
    stages: stages.map(s => s.input),
    finalImages: finals,
    project: project.name,
    policies: req.policies,
    now: new Date(),
    currentCacheVersion: CACHE_VERSION,
    existingCommits: req.policies.includes('improper-git-commit') ? await commitsThatExist(project, stages) : undefined,
    keepYoungerThanMs: req.keepYoungerThanMs,
    force: req.force,
    repoName: req.repo ? formatRef(req.repo) : undefined,
  })
  return carryOut(cache, plan, req.dryRun)
}

