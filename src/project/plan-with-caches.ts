import {type CacheContext, type StageCaches, stageCaches} from '../cache/index.js'
import {SlipwayError} from '../errors.js'
import {resolveRemote} from '../git/remote.js'
import {LABEL} from '../naming/index.js'
import {formatRef, parseImageRef, type Repository} from '../oci/ref.js'
import {loadProject, type Project} from './load-project.js'
import {planProject, type ProjectPlan} from './project-plan.js'

/** What planning against the caches works with (a workflow context): the caches' context and SLIPWAY_HOME, where remote git clones live. */
export interface PlanContext extends CacheContext {
  readonly home: string
}

export interface PlanRequest {
  dir: string
  dimgs?: string[]
  dev?: boolean
  /** Plan against this registry repository's stages too (`REPO:dimgstage-<signature>`). */
  repo?: Repository
}

/**
 * The project and its plan against the stages caches: the commit a cached stage recorded (which decides
 * the latest-patch stage) is read from the local store, then from REPO when one is given.
 */
export async function planWithCaches(ctx: PlanContext, req: PlanRequest): Promise<{project: Project; plan: ProjectPlan; caches: StageCaches}> {
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
