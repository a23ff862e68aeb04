import {loadStoreImage} from '../image/index.js'
import {CREATED_ANNOTATION, localStageName, localStageSignature, parseStageLabels} from '../naming/index.js'
import type {OciStore} from '../store/index.js'
import {type CachedStage, layersSize, type ListedStage, type StageDeletion, type StageListing, type StagesCache} from './stages-cache.js'

/** The project's stages in the local store (the dev cache is another one: `dev`). */
export class LocalStagesCache implements StagesCache, StageListing {
  readonly where = 'local'
  readonly name = 'the local stages cache'

  constructor(
    private readonly store: OciStore,
    private readonly project: string,
    private readonly dev = false,
  ) {}

  stageName(signature: string): string {
    return localStageName(this.project, signature, this.dev)
  }

  async has(signature: string): Promise<boolean> {
    return (await this.store.resolveRef(this.stageName(signature))) !== undefined
  }

  async resolve(signature: string): Promise<CachedStage | undefined> {
    const descriptor = await this.store.resolveRef(this.stageName(signature))
    if (!descriptor) return undefined
    const image = await loadStoreImage(this.store, descriptor.digest)
    return {signature, where: 'local', image, labels: {...image.manifest.annotations, ...descriptor.annotations}, descriptor}
  }

  async labels(signature: string): Promise<Record<string, string> | undefined> {
    const descriptor = await this.store.resolveRef(this.stageName(signature))
    return descriptor ? (descriptor.annotations ?? {}) : undefined
  }

  /** The stages named in the store's index: labels from the manifest's annotations and the index entry's. */
  async listStages(): Promise<ListedStage[]> {
    const out: ListedStage[] = []
    for (const entry of await this.store.listRefs()) {
      const signature = localStageSignature(entry.name, this.project, this.dev)
      if (!signature) continue
      const manifest = await this.store.getManifest(entry.descriptor.digest)
      const labels = {...manifest.annotations, ...entry.descriptor.annotations}
      const created = labels[CREATED_ANNOTATION] ?? null
      out.push({signature, image: entry.name, digest: entry.descriptor.digest, size: layersSize(manifest), created, facts: parseStageLabels(labels), project: this.project})
    }
    return out
  }

  /** One index update removes them all, so no order is needed; then the blobs no image needs go. */
  async delete(deletions: readonly StageDeletion[]): Promise<string[]> {
    const removed = await this.store.removeRefs(deletions.map(d => this.stageName(d.signature)))
    // young blobs stay for builds running right now
    await this.store.gc()
    return removed.map(r => r.name)
  }
}
