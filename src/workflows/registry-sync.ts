import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {currentBranch} from '../git/branch.js'
import {finalImageRepository, localStageName, resolveTags, stageTag, type TagOptions} from '../naming/index.js'
import {formatRef, type Ref, type Repository, withTag} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import type {FetchedManifest} from '../registry/index.js'
import {type BlobTotals, pullImages, pushImages, type PushItem, sumTotals, totalsOf} from '../transfer/index.js'
import type {WorkflowContext} from './context.js'
import {type DimgPlan, listedName, type ProjectPlan} from '../project/index.js'
import {lookUpStageTag, mismatchWarning, ociStageParts} from '../cache/stage-tags.js'
import {finalImageOf, finalImageOfRemoteStage, type ImageParts} from '../image/index.js'

/** The stages-cache and final-image traffic between the local store and a registry repository. */

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

function stageRef(repo: Repository, signature: string): Ref {
  return withTag(repo, stageTag(signature))
}

type PlannedProject = ProjectPlan['project']

async function localStage(ctx: WorkflowContext, project: PlannedProject, signature: string): Promise<Descriptor | undefined> {
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

const NO_RUN_STAGES: RunStages = {pending: new Map(), inRepo: new Set(), remote: new Map()}

async function locateLastStage(ctx: WorkflowContext, plan: ProjectPlan, dimg: DimgPlan, repo: Repository, runStages: RunStages): Promise<LastStage> {
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
async function stagePushItems(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, runStages: RunStages, dimgs = plan.dimgs, located = false, seen = new Set<string>()): Promise<{items: PushItem[]; rows: StageTransfer[]}> {
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

/** Each stage row's status and digest as the push left its tag. */
function withPushOutcomes(rows: StageTransfer[], pushed: {ref: string; digest: string; status: 'pushed' | 'exists'}[]): void {
  const byRef = new Map(pushed.map(i => [i.ref, i]))
  for (const row of rows) {
    const image = byRef.get(row.image)
    if (image) Object.assign(row, {status: image.status, digest: image.digest})
  }
}

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
