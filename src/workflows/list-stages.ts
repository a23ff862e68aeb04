import {finalImagesFor, ofProject, type StageRow, stagesCacheAt, stagesIn} from '../cache/index.js'
import {usageIndex} from '../cleanup/index.js'
import type {Repository} from '../oci/ref.js'
import {loadProject} from '../project/index.js'
import type {WorkflowContext} from './context.js'

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

