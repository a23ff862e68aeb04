import {fetchMissingLayers} from '../image/index.js'
import {localStageName, stageTag} from '../naming/index.js'
import {type Repository, withTag} from '../oci/ref.js'
import type {Lease} from '../store/index.js'
import {type DimgOutcome, stageRefUpdate} from './build.js'
import type {WorkflowContext} from './context.js'
import {pullImages} from './image-transfer.js'
import type {ProjectPlan} from './plan.js'

/**
 * The stages a push from the local store reads, made local: built stages left pending (their lower layers
 * only in REPO) get those layers and enter the local cache; a last stage found only in REPO is pulled.
 * Returns the blob bytes this downloaded. A push that reads stages where they are needs none of it.
 */
export async function keepStagesLocally(ctx: WorkflowContext, plan: ProjectPlan, repo: Repository, outcome: DimgOutcome, lease: Lease): Promise<number> {
  const store = await ctx.store()
  const name = (signature: string): string => localStageName(plan.project.name, signature, plan.project.dev)
  let downloaded = 0
  const updates = []
  for (const stage of outcome.stages) {
    if (stage.status !== 'built' || stage.descriptor || !stage.image) continue
    const missing = await fetchMissingLayers(store, lease, stage.image)
    downloaded += missing.reduce((n, l) => n + l.size, 0)
    const update = await stageRefUpdate(store, lease, name(stage.signature), stage.image)
    stage.descriptor = update.descriptor
    updates.push(update)
  }
  if (updates.length > 0) await store.setRefs(updates)
  const last = outcome.stages.at(-1)
  if (last?.status === 'cached-remote') {
    const pulled = await pullImages(ctx, [{ref: withTag(repo, stageTag(last.signature)), name: name(last.signature), keepManifestAnnotations: true}])
    downloaded += pulled.blobs.filter(b => b.outcome === 'pulled').reduce((n, b) => n + b.size, 0)
  }
  return downloaded
}
