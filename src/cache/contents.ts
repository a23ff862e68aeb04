import {type DeletionPlan, type FinalImageRecord, type StageInput, usageIndex} from '../cleanup/index.js'
import {SlipwayError} from '../errors.js'
import type {Repository} from '../oci/ref.js'
import {type CacheContext, registryStagesCache} from './project-caches.js'
import {canListStages, holdsFinalImages, type ListedStage, type StagesCache} from './stages-cache.js'

/**
 * What a stages cache holds, as `dimg stages list` rows and as cleanup inputs; the final images that use
 * its stages; deleting what a cleanup or flush plan says.
 */

/** The project whose stages are looked at (a loaded project): its name, and its dimgs, whose final images count. */
export interface ListedProject {
  name: string
  config: {dimgs: readonly {name: string | null; isArtifact: boolean}[]}
}

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

export interface GatheredStage {
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
export async function stagesIn(cache: StagesCache): Promise<GatheredStage[]> {
  if (!canListStages(cache)) throw new SlipwayError('usage', `${cache.name} cannot list its stages`)
  return (await cache.listStages()).map(gathered)
}

export const ofProject = (project: {name: string}) => (s: GatheredStage): boolean => s.listed.project === undefined || s.listed.project === project.name

/**
 * The final images that use the cache's stages. A cache that holds final images (a registry) names its
 * own. Any other cache is judged by REPO's final images: each one as it is (naming its last stage) plus one
 * record per stage its chain in REPO reaches. A local cache often lacks stages in between (a host that
 * pulled only the latest stage, or built the last stages differently), so walking the local graph alone from
 * a final image's last stage would miss stages the image does use; REPO's stage labels give the whole chain.
 */
export async function finalImagesFor(ctx: CacheContext, project: ListedProject, cache: StagesCache, repo: Repository | undefined): Promise<FinalImageRecord[]> {
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

export interface CleanupResult {
  plan: DeletionPlan
  deleted: string[]
  dryRun: boolean
}

/** Deletes what the plan says (unless a dry run). */
export async function carryOut(cache: StagesCache, plan: DeletionPlan, dryRun: boolean | undefined): Promise<CleanupResult> {
  if (dryRun) return {plan, deleted: [], dryRun: true}
  return {plan, deleted: await cache.delete(plan.delete), dryRun: false}
}
