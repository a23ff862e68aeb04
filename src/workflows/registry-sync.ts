import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {currentBranch} from '../git/branch.js'
import {finalImageRepository, localStageName, resolveTags, stageTag, type TagOptions} from '../naming/index.js'
import {formatRef, type Ref, type Repository, withTag} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import type {FetchedManifest} from '../registry/index.js'
import type {WorkflowContext} from './context.js'
import {finalImageOf} from './final-image.js'
import {pullImages, pushImages, type PushItem, type TransferredBlob} from './image-transfer.js'
import {type DimgPlan, listedName, type ProjectPlan} from './plan.js'
import {lookUpStageTag, mismatchWarning} from '../cache/stage-tags.js'

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
}

export interface FinalImageTransfer {
  dimg: string
  image: string
  digest: string
  stageSignature: string
}

export interface SyncResult {
  stages: StageTransfer[]
  images: FinalImageTransfer[]
  blobs: {uploaded: number; mounted: number; exists: number; pulled: number; present: number; bytes: number}
}

/** Several pushes or pulls as one result. */
export function mergeResults(results: SyncResult[]): SyncResult {
  const blobs = {uploaded: 0, mounted: 0, exists: 0, pulled: 0, present: 0, bytes: 0}
  for (const r of results) for (const k of Object.keys(blobs) as (keyof typeof blobs)[]) blobs[k] += r.blobs[k]
  const seen = new Set<string>()
  const stages = results.flatMap(r => r.stages).filter(s => !seen.has(s.signature) && seen.add(s.signature))
  return {stages, images: results.flatMap(r => r.images), blobs}
}

function blobSummary(blobs: TransferredBlob[]): SyncResult['blobs'] {
  const out = {uploaded: 0, mounted: 0, exists: 0, pulled: 0, present: 0, bytes: 0}
  for (const b of blobs) {
    out[b.outcome]++
    if (b.outcome === 'uploaded' || b.outcome === 'pulled') out.bytes += b.size
  }
  return out
}

function stageRef(repo: Repository, signature: string): Ref {
  return withTag(repo, stageTag(signature))
}

type PlannedProject = ProjectPlan['project']

async function localStage(ctx: WorkflowContext, project: PlannedProject, signature: string): Promise<Descriptor | undefined> {
  return (await ctx.store()).resolveRef(localStageName(project.name, signature, project.dev))
}

async function requireBuilt(ctx: WorkflowContext, plan: ProjectPlan, dimg: DimgPlan, signature: string): Promise<Descriptor> {
  const desc = await localStage(ctx, plan.project, signature)
  if (!desc) {
    throw new SlipwayError('not-found', `${listedName(plan, dimg)} is not built: stage ${signature.slice(0, 12)} is not in the local stages cache`, {
      hint: 'run `slipway dimg build` first (or `dimg bp` to build and push)',
    })
  }
  return desc
}

/**
 * Push items for every stage of the plan's dimgs (each signature once), written only where absent. Each
 * dimg's last stage must be in the local cache; earlier stages a host never had (it pulled only the latest)
 * are skipped.
 */
async function stagePushItems(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, dimgs = plan.dimgs): Promise<{items: PushItem[]; rows: StageTransfer[]}> {
  const seen = new Set<string>()
  const items: PushItem[] = []
  const rows: StageTransfer[] = []
  for (const dimg of dimgs) {
    await requireBuilt(ctx, plan, dimg, dimg.lastSignature)
    for (const stage of dimg.stages) {
      if (seen.has(stage.signature)) continue
      seen.add(stage.signature)
      const ref = stageRef(repo, stage.signature)
      const row: StageTransfer = {dimg: listedName(plan, dimg), stage: stage.name, signature: stage.signature, image: formatRef(ref), status: 'pushed'}
      rows.push(row)
      const manifest = await localStage(ctx, plan.project, stage.signature)
      if (manifest) items.push({manifest, ref, ifAbsent: true})
      else row.status = 'skipped'
    }
  }
  return {items, rows}
}

/**
 * `dimg stages push`: the stages cache as `REPO:dimgstage-<signature>`, first writer wins. `dimgs` narrows
 * it to some of the plan's dimgs (bp pushes each dimg's stages as soon as it is built).
 */
export async function pushStages(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, dimgs = plan.dimgs): Promise<SyncResult> {
  const {items, rows} = await stagePushItems(ctx, plan, repo, dimgs)
  const result = await pushImages(ctx, items)
  const status = new Map(result.images.map(i => [i.ref, i.status]))
  for (const row of rows) row.status = status.get(row.image) ?? row.status
  return {stages: rows, images: [], blobs: blobSummary(result.blobs)}
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
    // one GET answers both "is it there" and "what is it" (the pull below reuses it)
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
  for (const {row} of wanted.values()) row.status = 'pulled'
  return {stages: rows, images: [], blobs: blobSummary(pulled.blobs)}
}

export interface FinalPushOptions {
  tags: TagOptions
  withStages?: boolean
  /** spush: push the one dimg to REPO itself, not REPO/DIMG. */
  asIs?: boolean
}

/** `dimg push` / `spush`: final images by the naming rules, and with `withStages` the stages cache too. */
export async function pushFinalImages(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, opts: FinalPushOptions): Promise<SyncResult> {
  const {gitRoot, headCommit} = plan.project
  const branch = gitRoot ? await currentBranch(gitRoot) : undefined
  const tags = resolveTags(opts.tags, {branch, commit: headCommit}, ctx.env)
  const store = await ctx.store()
  const dimgs = plan.dimgs.filter(d => !d.isArtifact)
  if (opts.asIs && dimgs.length !== 1) {
    throw new SlipwayError('usage', `spush pushes exactly one dimg, but ${dimgs.length} are selected (${dimgs.map(d => listedName(plan, d)).join(', ')})`, {
      hint: 'name the dimg: slipway dimg spush DIMG REPO',
    })
  }
  const lease = await store.lease()
  try {
    const items: PushItem[] = []
    const images: FinalImageTransfer[] = []
    for (const dimg of dimgs) {
      const stage = await requireBuilt(ctx, plan, dimg, dimg.lastSignature)
      const manifest = await finalImageOf(store, lease, stage, dimg.name, dimg.lastSignature)
      const target = opts.asIs ? repo : finalImageRepository(repo, dimg.name)
      for (const tag of tags) {
        const ref = withTag(target, tag)
        items.push({manifest, ref})
        images.push({dimg: listedName(plan, dimg), image: formatRef(ref), digest: manifest.digest, stageSignature: dimg.lastSignature})
      }
    }
    let stageRows: StageTransfer[] = []
    if (opts.withStages) {
      const stages = await stagePushItems(ctx, plan, repo)
      items.unshift(...stages.items)
      stageRows = stages.rows
    }
    const result = await pushImages(ctx, items)
    const status = new Map(result.images.map(i => [i.ref, i.status]))
    for (const row of stageRows) row.status = status.get(row.image) ?? row.status
    return {stages: stageRows, images, blobs: blobSummary(result.blobs)}
  } finally {
    await lease.release()
  }
}
