import {carryOut, type CleanupResult, stagesCacheAt, stagesIn} from '../cache/index.js'
import {flushPlan} from '../cleanup/index.js'
import type {Repository} from '../oci/ref.js'
import {loadProject} from '../project/index.js'
import type {WorkflowContext} from './context.js'

/** `dimg stages flush local|repo`: the project's whole stages cache; final images stay. */
export async function flushStages(ctx: WorkflowContext, where: 'local' | 'repo', req: {dir: string; repo?: Repository; dryRun?: boolean}): Promise<CleanupResult> {
  const project = await loadProject(req.dir)
  const cache = await stagesCacheAt(ctx, project, where, req)
  // only the stages the cache files under this project: in a registry (maybe shared) their label says, locally their name
  const inputs = (await stagesIn(cache)).map(s => (s.listed.project === undefined ? s.input : {...s.input, project: s.listed.project}))
  const plan = flushPlan(inputs, {project: project.name})
  return carryOut(cache, plan, req.dryRun)
}
