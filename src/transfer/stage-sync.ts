import {lookUpStageTag, mismatchWarning, ociStageParts} from '../cache/stage-tags.js'
import {SlipwayError} from '../errors.js'
import type {ImageParts} from '../image/index.js'
import {localStageName, stageTag} from '../naming/index.js'
import {formatRef, type Ref, type Repository, withTag} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import {type DimgPlan, listedName, type ProjectPlan} from '../project/index.js'
import {type BlobTotals, sumTotals} from './blobs.js'
import type {TransferContext} from './context.js'
import type {PushItem} from './push.js'

/**
 * What the stages-cache and final-image traffic between the local store and a registry repository shares:
 * its result rows, where a dimg's last stage is, and the push items for a plan's stages.
 */

export interface StageTransfer {
  dimg: string
  stage: string
  signature: string
  image: string
  /**
   * `skipped`: an intermediate stage this host does not have (it pulled only later ones); nothing to push.
   * `mismatch`: REPO has the tag, but its image's labels name another signature, cache version or project;
   * it was not pulled (treated as absent, with a warning).
   */
  status: 'pushed' | 'exists' | 'pulled' | 'present' | 'absent' | 'skipped' | 'mismatch'
  /** The manifest digest at `image`, for the stages this run pushed, found pushed, or pulled. */
  digest?: string
}

export interface FinalImageTransfer {
  dimg: string
  image: string
  digest: string
  stageSignature: string
  /** Where the final image was made from: the local stages cache, or REPO's stage (no layer through this host). */
  madeFrom: 'local' | 'registry'
}

export interface SyncResult {
  stages: StageTransfer[]
  images: FinalImageTransfer[]
  blobs: BlobTotals
}

/** Several pushes or pulls as one result. */
export function mergeResults(results: SyncResult[]): SyncResult {
  const seen = new Set<string>()
  const stages = results.flatMap(r => r.stages).filter(s => !seen.has(s.signature) && seen.add(s.signature))
  return {stages, images: results.flatMap(r => r.images), blobs: sumTotals(results.map(r => r.blobs))}
}

export function stageRef(repo: Repository, signature: string): Ref {
  return withTag(repo, stageTag(signature))
}

type PlannedProject = ProjectPlan['project']

/** The local stages cache's manifest of the stage, if it has it. */
export async function localStage(ctx: TransferContext, project: PlannedProject, signature: string): Promise<Descriptor | undefined> {
  return (await ctx.store()).resolveRef(localStageName(project.name, signature, project.dev))
}

/** Where a dimg's last stage is: the local stages cache, or REPO (its tag checked against its labels). */
type LastStage = {at: 'local'; descriptor: Descriptor} | {at: 'registry'; stage: ImageParts; annotations?: Record<string, string>}

/** What a build of this run (bp) knows about stages the local cache does not hold. */
export interface RunStages {
  /**
   * Stage manifests it wrote to the store outside the local cache: stages built on stages only in REPO keep
   * their new layers in the store and the rest in REPO, so a push reads them from both (the store's blobs,
   * and REPO as the mount source). By signature.
   */
  pending: ReadonlyMap<string, Descriptor>
  /** Signatures it found in REPO (cached-remote): nothing to push. */
  inRepo: ReadonlySet<string>
  /** Stage images it read from REPO (manifest and config, already checked against their tag). */
  remote: ReadonlyMap<string, ImageParts>
}

export const NO_RUN_STAGES: RunStages = {pending: new Map(), inRepo: new Set(), remote: new Map()}

export async function locateLastStage(ctx: TransferContext, plan: ProjectPlan, dimg: DimgPlan, repo: Repository, runStages: RunStages): Promise<LastStage> {
  const signature = dimg.lastSignature
  const descriptor = (await localStage(ctx, plan.project, signature)) ?? runStages.pending.get(signature)
  if (descriptor) return {at: 'local', descriptor}
  const known = runStages.remote.get(signature)
  if (known) return {at: 'registry', stage: known}
  const found = await lookUpStageTag(ctx, repo, {signature, cacheVersion: plan.cacheVersion, project: plan.project.name})
  if (found.found === 'stage') return {at: 'registry', stage: ociStageParts(found), annotations: found.annotations}
  if (found.found === 'mismatch') ctx.reporter.warn(mismatchWarning(repo, signature, found.reason))
  throw new SlipwayError('not-found', `${listedName(plan, dimg)} is not built: stage ${signature.slice(0, 12)} is neither in the local stages cache nor in ${formatRef(repo)}`, {
    hint: 'run `slipway dimg build` first (or `dimg bp` to build and push)',
  })
}

/**
 * Push items for every stage of the plan's dimgs (each signature once), written only where absent. Each
 * dimg's last stage must be in the local cache or REPO; stages this host does not have (it pulled only the
 * latest, or REPO has them) are skipped.
 */
export async function stagePushItems(ctx: TransferContext, plan: ProjectPlan, repo: Repository, runStages: RunStages, dimgs = plan.dimgs, located = false, seen = new Set<string>()): Promise<{items: PushItem[]; rows: StageTransfer[]}> {
  const items: PushItem[] = []
  const rows: StageTransfer[] = []
  for (const dimg of dimgs) {
    if (!located) await locateLastStage(ctx, plan, dimg, repo, runStages)
    for (const stage of dimg.stages) {
      if (seen.has(stage.signature)) continue
      seen.add(stage.signature)
      const ref = stageRef(repo, stage.signature)
      const row: StageTransfer = {dimg: listedName(plan, dimg), stage: stage.name, signature: stage.signature, image: formatRef(ref), status: 'pushed'}
      rows.push(row)
      const local = await localStage(ctx, plan.project, stage.signature)
      const pending = local ? undefined : runStages.pending.get(stage.signature)
      if (local) items.push({manifest: local, ref, ifAbsent: true})
      else if (pending) items.push({manifest: pending, ref, ifAbsent: true, source: repo})
      else row.status = runStages.inRepo.has(stage.signature) ? 'exists' : 'skipped'
    }
  }
  return {items, rows}
}


/** Each stage row's status and digest as the push left its tag. */
export function withPushOutcomes(rows: StageTransfer[], pushed: {ref: string; digest: string; status: 'pushed' | 'exists'}[]): void {
  const byRef = new Map(pushed.map(i => [i.ref, i]))
  for (const row of rows) {
    const image = byRef.get(row.image)
    if (image) Object.assign(row, {status: image.status, digest: image.digest})
  }
}
