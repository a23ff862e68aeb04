import pLimit from 'p-limit'

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
import {LocalStagesCache} from '../cache/index.js'
import {SlipwayError} from '../errors.js'
import {existingCommits} from '../git/commits.js'
import {finalImageRepository, LABEL, localStageSignature, parseStageLabels, signatureOfStageTag, stageTag} from '../naming/index.js'
import type {Digest} from '../oci/digest.js'
import {formatRef, type Repository, withTag} from '../oci/ref.js'
import type {AnyManifest, ImageManifest} from '../oci/types.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {WorkflowContext} from './context.js'
import {loadProject, type Project} from './plan.js'

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
  row: StageRow
  input: StageInput
}

function manifestSize(m: AnyManifest): number {
  return 'layers' in m ? (m as ImageManifest).layers.reduce((n, l) => n + l.size, 0) : 0
}

function gathered(signature: string, image: string, digest: string, annotations: Record<string, string> | undefined, size: number): GatheredStage {
  const facts = parseStageLabels(annotations)
  const created = annotations?.['org.opencontainers.image.created'] ?? null
  const row: StageRow = {
    signature,
    dimg: facts?.dimg ?? null,
    stage: facts?.stage ?? null,
    size,
    created,
    usedBy: [],
    image,
    digest,
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
  return {row, input}
}

/** The project's stages in the local store (the dev cache apart). */
async function localStages(ctx: WorkflowContext, projectName: string, dev: boolean): Promise<GatheredStage[]> {
  const store = await ctx.store()
  const out: GatheredStage[] = []
  for (const entry of await store.listRefs()) {
    const signature = localStageSignature(entry.name, projectName, dev)
    if (!signature) continue
    const manifest = await store.getManifest(entry.descriptor.digest)
    const annotations = {...manifest.annotations, ...entry.descriptor.annotations}
    out.push(gathered(signature, entry.name, entry.descriptor.digest, annotations, manifestSize(manifest)))
  }
  return out
}

interface RepoTag {
  tag: string
  digest: Digest
  manifest: AnyManifest
}

/** Every tag of a repository with its manifest: one paginated listing, manifests fetched in parallel, once each. */
async function repoTags(ctx: WorkflowContext, repo: Repository, filter: (tag: string) => boolean = () => true): Promise<RepoTag[]> {
  const client = await ctx.registry()
  const tags = (await client.listTags(repo)).filter(filter)
  const limit = pLimit(ctx.jobs)
  const out = await Promise.all(
    tags.map(tag =>
      limit(async () => {
        try {
          const got = await client.getManifest(withTag(repo, tag))
          return {tag, digest: got.digest, manifest: JSON.parse(got.bytes.toString('utf8')) as AnyManifest}
        } catch (e) {
          // a tag deleted between listing and fetching is simply gone
          if (e instanceof SlipwayError && e.kind === 'not-found') return undefined
          throw e
        }
      }),
    ),
  )
  return out.filter((t): t is RepoTag => t !== undefined)
}

async function repoStages(ctx: WorkflowContext, repo: Repository, tags: RepoTag[]): Promise<GatheredStage[]> {
  return tags
    .filter(t => signatureOfStageTag(t.tag))
    .map(t => gathered(signatureOfStageTag(t.tag)!, formatRef(withTag(repo, t.tag)), t.digest, t.manifest.annotations, manifestSize(t.manifest)))
}

/** Final images of the project's dimgs in REPO: REPO/DIMG:* for named dimgs, REPO:* (not dimgstage-*) for the unnamed one. */
async function finalImages(ctx: WorkflowContext, project: Project, repo: Repository, repoTagList?: RepoTag[]): Promise<FinalImageRecord[]> {
  const perDimg = await Promise.all(
    project.config.dimgs
      .filter(d => !d.isArtifact)
      .map(async dimg => {
        const target = finalImageRepository(repo, dimg.name)
        const tags = dimg.name === null && repoTagList ? repoTagList.filter(t => !signatureOfStageTag(t.tag)) : await repoTags(ctx, target, t => !signatureOfStageTag(t))
        return tags.map(t => ({ref: formatRef(withTag(target, t.tag)), stageSignature: t.manifest.annotations?.[LABEL.finalStage] ?? null}))
      }),
  )
  return perDimg.flat()
}

/**
 * REPO's final images, for judging local stages: each one as it is (naming its last stage) plus one record
 * per stage its chain in REPO reaches. A local cache often lacks stages in between (a host that pulled only
 * the latest stage, or built the last stages differently), so walking the local graph alone from a final
 * image's last stage would miss stages the image does use; REPO's stage labels give the whole chain.
 */
async function finalImagesThroughRepo(ctx: WorkflowContext, project: Project, repo: Repository): Promise<FinalImageRecord[]> {
  const tags = await repoTags(ctx, repo)
  const finals = await finalImages(ctx, project, repo, tags)
  const stages = (await repoStages(ctx, repo, tags)).filter(s => s.input.project === undefined || s.input.project === project.name)
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
  let stages: GatheredStage[]
  let finals: FinalImageRecord[] = []
  if (where === 'local') {
    stages = await localStages(ctx, project.name, req.dev ?? false)
    if (req.repo) finals = await finalImagesThroughRepo(ctx, project, req.repo)
  } else {
    const tags = await repoTags(ctx, req.repo!)
    // REPO may hold other projects' stages: list this project's, and strays whose labels do not parse
    stages = (await repoStages(ctx, req.repo!, tags)).filter(s => s.input.project === undefined || s.input.project === project.name)
    finals = await finalImages(ctx, project, req.repo!, tags)
  }
  const usage = usageIndex(
    stages.map(s => s.input),
    finals,
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

/** The project's stages where a cleanup or flush works: the local cache, or REPO with all its tags. */
async function gatherStages(ctx: WorkflowContext, where: 'local' | 'repo', project: Project, repo?: Repository): Promise<{stages: GatheredStage[]; tags: RepoTag[]}> {
  if (where === 'local') return {stages: await localStages(ctx, project.name, false), tags: []}
  const tags = await repoTags(ctx, repo!)
  return {stages: await repoStages(ctx, repo!, tags), tags}
}

/** Deletes what the plan says (unless a dry run). */
async function carryOut(ctx: WorkflowContext, where: 'local' | 'repo', project: Project, plan: DeletionPlan, req: {repo?: Repository; dryRun?: boolean}, tags: RepoTag[]): Promise<CleanupResult> {
  if (req.dryRun) return {plan, deleted: [], dryRun: true}
  const deleted = where === 'local' ? await deleteLocal(ctx, project, plan) : await deleteInRepo(ctx, req.repo!, plan, tags)
  return {plan, deleted, dryRun: false}
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
  const {stages, tags} = await gatherStages(ctx, where, project, req.repo)
  // REPO's final images also protect the stages they use from the other policies (unless --force)
  let finals: FinalImageRecord[] = []
  if (req.repo) {
    finals = where === 'repo' ? await finalImages(ctx, project, req.repo!, tags) : await finalImagesThroughRepo(ctx, project, req.repo!)
  }
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
  return carryOut(ctx, where, project, plan, req, tags)
}

/** `dimg stages flush local|repo`: the project's whole stages cache; final images stay. */
export async function flushStages(ctx: WorkflowContext, where: 'local' | 'repo', req: {dir: string; repo?: Repository; dryRun?: boolean}): Promise<CleanupResult> {
  const project = await loadProject(req.dir)
  const {stages, tags} = await gatherStages(ctx, where, project, req.repo)
  // in a registry, only stages labelled with this project: REPO may be shared; locally the name says the project
  const inputs = stages.map(s => (where === 'local' ? {...s.input, project: project.name} : s.input))
  const plan = flushPlan(inputs, {project: project.name})
  return carryOut(ctx, where, project, plan, req, tags)
}

async function deleteLocal(ctx: WorkflowContext, project: Project, plan: DeletionPlan): Promise<string[]> {
  return new LocalStagesCache(await ctx.store(), project.name).delete(plan.delete.map(d => d.signature))
}

/**
 * Deletes stage tags children before parents (and importing stages before their import sources), so an
 * interrupted cleanup never leaves a stage whose parent is gone. Each tag is deleted as soon as everything
 * built on it is gone, up to `jobs` at a time, with no waiting for a whole generation: on distribution every
 * manifest DELETE rescans all the repository's tags, so the registry's time dominates and must not idle.
 * A manifest is deleted by digest when no other tag of the repository points at it (one request); otherwise
 * the registry client's safe tag deletion runs.
 */
async function deleteInRepo(ctx: WorkflowContext, repo: Repository, plan: DeletionPlan, tags: RepoTag[]): Promise<string[]> {
  const client = await ctx.registry()
  const byTag = new Map(tags.map(t => [t.tag, t]))
  const tagsByDigest = new Map<string, Set<string>>()
  for (const t of tags) {
    const set = tagsByDigest.get(t.digest) ?? new Set()
    set.add(t.tag)
    tagsByDigest.set(t.digest, set)
  }
  const doomed = new Set(plan.delete.map(d => d.signature))
  // signature → the doomed stages it is built on; and how many doomed stages still wait on each
  const dependencies = new Map<string, string[]>()
  const waitingDependents = new Map<string, number>()
  for (const signature of doomed) {
    const facts = parseStageLabels(byTag.get(stageTag(signature))?.manifest.annotations)
    const on = [...new Set([facts?.parent ?? '', ...(facts?.imports ?? [])])].filter(s => s !== signature && doomed.has(s))
    dependencies.set(signature, on)
    for (const s of on) waitingDependents.set(s, (waitingDependents.get(s) ?? 0) + 1)
  }
  const deleted: string[] = []
  const done = new Set<string>()
  const limit = pLimit(ctx.jobs)
  const deleteOne = async (signature: string): Promise<void> => {
    const tag = stageTag(signature)
    const digest = byTag.get(tag)?.digest
    const sharing = digest ? tagsByDigest.get(digest)! : new Set<string>()
    if (digest && sharing.size === 1) await client.deleteManifest(repo, digest)
    else await client.deleteTag(repo, tag)
    sharing.delete(tag)
    done.add(signature)
    ctx.reporter.info(`deleted ${formatRef(withTag(repo, tag))}`)
    deleted.push(formatRef(withTag(repo, tag)))
  }
  const run = async (signature: string): Promise<void> => {
    await limit(() => deleteOne(signature))
    const ready = dependencies.get(signature)!.filter(s => {
      const left = waitingDependents.get(s)! - 1
      waitingDependents.set(s, left)
      return left === 0
    })
    await Promise.all(ready.map(run))
  }
  await Promise.all([...doomed].filter(s => !waitingDependents.get(s)).map(run))
  // stages in a cycle of malformed labels never become ready: they go last, one by one
  for (const s of plan.delete.map(d => d.signature).filter(s => !done.has(s))) await deleteOne(s)
  if (doomed.size !== deleted.length) throw new SlipwayError('internal', 'cleanup deleted a different set of tags than planned')
  return deleted
}
