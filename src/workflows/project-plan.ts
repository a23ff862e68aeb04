import {LocalStagesCache, RegistryStagesCache, StageCaches, type StagesCache} from '../cache/index.js'
import {SlipwayError} from '../errors.js'
import {DownloadCounter} from '../image/index.js'
import {formatRef, parseImageRef, type Repository} from '../oci/ref.js'
import {LABEL} from '../naming/index.js'
import {resolveRemote} from '../git/remote.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {WorkflowContext} from './context.js'
import {loadProject, planProject, type Project, type ProjectPlan} from '../project/index.js'

export interface PlanRequest {
  dir: string
  dimgs?: string[]
  dev?: boolean
  /** Plan against this registry repository's stages too (`REPO:dimgstage-<signature>`). */
  repo?: Repository
}

/** The project's stages in REPO (`REPO:dimgstage-<signature>`); blob bytes read are counted in `downloads`. */
export function registryStagesCache(ctx: WorkflowContext, project: Project, repo: Repository, downloads = new DownloadCounter()): RegistryStagesCache {
  return new RegistryStagesCache(ctx, repo, {
    project: project.name,
    cacheVersion: CACHE_VERSION,
    downloads,
    warn: line => ctx.reporter.warn(line),
    jobs: ctx.jobs,
    deleted: ref => ctx.reporter.info(`deleted ${ref}`),
  })
}

/** The one stages cache a `stages list|cleanup|flush local|repo` works on. */
export async function stagesCacheAt(ctx: WorkflowContext, project: Project, where: 'local' | 'repo', opts: {repo?: Repository; dev?: boolean}): Promise<StagesCache> {
  if (where === 'local') return new LocalStagesCache(await ctx.store(), project.name, opts.dev ?? false)
  if (!opts.repo) throw new SlipwayError('usage', 'the registry stages cache needs REPO', {hint: 'give the registry repository, e.g. localhost:5000/myproject'})
  return registryStagesCache(ctx, project, opts.repo)
}

/** The stages caches a run plans against: the local store's, and REPO's when one is given. */
export async function stageCaches(ctx: WorkflowContext, project: Project, repo?: Repository): Promise<StageCaches> {
  const downloads = new DownloadCounter()
  const local = new LocalStagesCache(await ctx.store(), project.name, project.dev)
  return new StageCaches(local, repo ? registryStagesCache(ctx, project, repo, downloads) : undefined, downloads)
}

/**
 * The project and its plan against the stages caches: the commit a cached stage recorded (which decides
 * the latest-patch stage) is read from the local store, then from REPO when one is given.
 */
export async function planWithCaches(ctx: WorkflowContext, req: PlanRequest): Promise<{project: Project; plan: ProjectPlan; caches: StageCaches}> {
  const project = await loadProject(req.dir, {dev: req.dev})
  const caches = await stageCaches(ctx, project, req.repo)
  const plan = await planProject(project, {
    dimgs: req.dimgs,
    resolveFromDigest: async reference => {
      const ref = parseImageRef(reference)
      const head = await (await ctx.registry()).headManifest(ref)
      if (!head) throw new SlipwayError('not-found', `base image ${formatRef(ref)} is not in its registry`, {hint: 'check the `from` reference'})
      return head.digest
    },
    // a tag whose image is another stage is no stage here (the cache warns about it)
    recordedCommitOf: async signature => (await caches.labels(signature))?.[LABEL.gitContentRef],
    remoteCommit: remote => resolveRemote(ctx.home, remote),
  })
  return {project, plan, caches}
}
