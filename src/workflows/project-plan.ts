import {SlipwayError} from '../errors.js'
import {formatRef, parseImageRef, type Repository} from '../oci/ref.js'
import {LABEL, localStageName} from '../naming/index.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {WorkflowContext} from './context.js'
import {loadProject, planProject, type Project, type ProjectPlan} from './plan.js'
import {lookUpStageTag} from './stage-tags.js'

export interface PlanRequest {
  dir: string
  dimgs?: string[]
  dev?: boolean
  /** Also ask this registry repository for the commits its stages recorded (stages pull on an empty host). */
  repo?: Repository
}

/**
 * The project and its plan against the stages caches: the commit a cached stage recorded (which decides
 * the latest-patch stage) is read from the local store, then from the registry when one is given.
 */
export async function planWithCaches(ctx: WorkflowContext, req: PlanRequest): Promise<{project: Project; plan: ProjectPlan}> {
  const project = await loadProject(req.dir, {dev: req.dev})
  const store = await ctx.store()
  const plan = await planProject(project, {
    dimgs: req.dimgs,
    resolveFromDigest: async reference => {
      const ref = parseImageRef(reference)
      const head = await (await ctx.registry()).headManifest(ref)
      if (!head) throw new SlipwayError('not-found', `base image ${formatRef(ref)} is not in its registry`, {hint: 'check the `from` reference'})
      return head.digest
    },
    recordedCommitOf: async signature => {
      const local = await store.resolveRef(localStageName(project.name, signature, project.dev))
      if (local) return local.annotations?.[LABEL.gitContentRef]
      if (!req.repo) return undefined
      // a tag whose image is another stage is no stage here (`stages pull` warns about it)
      const found = await lookUpStageTag(ctx, req.repo, {signature, cacheVersion: CACHE_VERSION, project: project.name})
      return found.found === 'stage' ? found.annotations[LABEL.gitContentRef] : undefined
    },
  })
  return {project, plan}
}
