import {loadStoreImage} from '../image/index.js'
import {localStageName} from '../naming/index.js'
import type {OciStore} from '../store/index.js'
import type {CachedStage, StagesCache} from './stages-cache.js'

/** The project's stages in the local store (the dev cache is another one: `dev`). */
export class LocalStagesCache implements StagesCache {
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

  async delete(signatures: string[]): Promise<string[]> {
    const removed = await this.store.removeRefs(signatures.map(s => this.stageName(s)))
    // blobs no image needs any more; young blobs stay for builds running right now
    await this.store.gc()
    return removed.map(r => r.name)
  }
}
