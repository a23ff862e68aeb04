import {
  cleanupPlan,
  type CleanupPolicy,
  commitsToCheck,
  type DeletionPlan,
  type FinalImageRecord,
  flushPlan,
  type StageInput,
  usageIndex,
} from '../cleanup/index.js'
import {canListStages, holdsFinalImages, type ListedStage, registryStagesCache, type StagesCache, stagesCacheAt} from '../cache/index.js'
import {SlipwayError} from '../errors.js'
import {existingCommits} from '../git/objects.js'
import {formatRef, type Repository} from '../oci/ref.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {WorkflowContext} from './context.js'
import {loadProject, type Project} from '../project/index.js'

/** One stage of a stages cache, as `dimg stages list` shows it. */
export interface StageRow {
  signature: string
  dimg: string | null
  stage: string | null
  /** Bytes of the stage image's layers. */
  size: number
  created: string | null
  /** Final images (REPO/DIMG:TAG) whose stage chain or imports reach this stage. */
  usedBy: string[]
  /** Local name or registry reference of the stage image. */
  image: string
  digest: string
  parent: string | null
  cacheVersion: string | null
  gitCommit: string | null
}

interface GatheredStage {
  listed: ListedStage
  row: StageRow
  input: StageInput
}

function gathered(listed: ListedStage): GatheredStage {
  const {signature, facts, size, created} = listed
  const row: StageRow = {
    signature,
    dimg: facts?.dimg ?? null,
    stage: facts?.stage ?? null,
    size,
    created,
    usedBy: [],
    image: listed.image,
    digest: listed.digest,
    parent: facts?.parent ?? null,
    cacheVersion: facts?.cacheVersion ?? null,
    gitCommit: facts?.gitCommit ?? null,
  }
  // labels that do not parse (another tool's image at a dimgstage tag) leave the record incomplete: never judged
  const input: StageInput = facts
    ? {
        signature,
        parentSignature: facts.parent,
        dimg: facts.dimg,
        stage: facts.stage,
        project: facts.project,
        cacheVersion: facts.cacheVersion,
        commits: facts.gitCommit ? [facts.gitCommit] : [],
        importSources: facts.imports ?? [],
        created: created ?? undefined,
        dev: facts.dev,
        size,
      }
    : {signature}
  return {listed, row, input}
}

/** Every stage the cache holds (REPO may hold other projects' stages, and strays whose labels do not parse). */
async function stagesIn(cache: StagesCache): Promise<GatheredStage[]> {
  if (!canListStages(cache)) throw new SlipwayError('usage', `${cache.name} cannot list its stages`)
  return (await cache.listStages()).map(gathered)
}

const ofProject = (project: Project) => (s: GatheredStage): boolean => s.listed.project === undefined || s.listed.project === project.name

/**
 * The final images that use the cache's stages. A cache that holds final images (a registry) names its
 * own. Any other cache is judged by REPO's final images: each one as it is (naming its last stage) plus one
 * record per stage its chain in REPO reaches. A local cache often lacks stages in between (a host that
 * pulled only the latest stage, or built the last stages differently), so walking the local graph alone from
 * a final image's last stage would miss stages the image does use; REPO's stage labels give the whole chain.
 */
async function finalImagesFor(ctx: WorkflowContext, project: Project, cache: StagesCache, repo: Repository | undefined): Promise<FinalImageRecord[]> {
  const dimgs = project.config.dimgs.filter(d => !d.isArtifact).map(d => d.name)
  if (holdsFinalImages(cache)) return cache.finalImages(dimgs)
  if (!repo) return []
  const registry = registryStagesCache(ctx, project, repo)
  const finals = await registry.finalImages(dimgs)
  const stages = (await stagesIn(registry)).filter(ofProject(project))
  const out = [...finals]
  for (const [signature, refs] of usageIndex(stages.map(s => s.input), finals)) {
    for (const ref of refs) out.push({ref, stageSignature: signature})
  }
  return out
}

export interface ListRequest {
  dir: string
  /** Registry repository: the stages listed (repo) or the final images that use local stages. */
  repo?: Repository
  dev?: boolean
}

/** `dimg stages list local|repo`: rows sorted by dimg, then creation time. */
export async function listStages(ctx: WorkflowContext, where: 'local' | 'repo', req: ListRequest): Promise<StageRow[]> {
  const project = await loadProject(req.dir)
  const cache = await stagesCacheAt(ctx, project, where, req)
  const stages = (await stagesIn(cache)).filter(ofProject(project))
  const usage = usageIndex(
    stages.map(s => s.input),
    await finalImagesFor(ctx, project, cache, req.repo),
  )
  for (const s of stages) s.row.usedBy = usage.get(s.row.signature) ?? []
  return stages
    .map(s => s.row)
    .sort((a, b) => (a.dimg ?? '').localeCompare(b.dimg ?? '') || (a.created ?? '').localeCompare(b.created ?? '') || a.signature.localeCompare(b.signature))
}

export interface CleanupRequest {
  dir: string
  policies: CleanupPolicy[]
  /** Required for repo cleanups and for the improper-repo-cache policy. */
  repo?: Repository
  keepYoungerThanMs: number
  force?: boolean
  dryRun?: boolean
}

export interface CleanupResult {
  plan: DeletionPlan
  deleted: string[]
  dryRun: boolean
}

async function commitsThatExist(project: Project, stages: GatheredStage[]): Promise<Set<string>> {
  return existingCommits(project.git!.root, commitsToCheck(stages.map(s => s.input)))
}

/** Deletes what the plan says (unless a dry run). */
async function carryOut(cache: StagesCache, plan: DeletionPlan, dryRun: boolean | undefined): Promise<CleanupResult> {
  if (dryRun) return {plan, deleted: [], dryRun: true}
  return {plan, deleted: await cache.delete(plan.delete), dryRun: false}
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

/** `dimg stages flush local|repo`: the project's whole stages cache; final images stay. */
export async function flushStages(ctx: WorkflowContext, where: 'local' | 'repo', req: {dir: string; repo?: Repository; dryRun?: boolean}): Promise<CleanupResult> {
  const project = await loadProject(req.dir)
  const cache = await stagesCacheAt(ctx, project, where, req)
  // only the stages the cache files under this project: in a registry (maybe shared) their label says, locally their name
  const inputs = (await stagesIn(cache)).map(s => (s.listed.project === undefined ? s.input : {...s.input, project: s.listed.project}))
  const plan = flushPlan(inputs, {project: project.name})
  return carryOut(cache, plan, req.dryRun)
}

