import {DownloadCounter} from '../image/index.js'
import type {LocalStagesCache} from './local.js'
import type {RegistryStagesCache} from './registry.js'
import type {CachedStage} from './stages-cache.js'

/** The caches a build plans against: the local store, and REPO when one is given. A local stage wins. */
export class StageCaches {
  constructor(
    readonly local: LocalStagesCache,
    readonly repo?: RegistryStagesCache,
    /** Blob bytes this run read from registries. */
    readonly downloads = new DownloadCounter(),
  ) {}

  /** Where a stage is, by name alone (the store's index, REPO's one tag listing). */
  async where(signature: string): Promise<'local' | 'repo' | undefined> {
    if (await this.local.has(signature)) return 'local'
    if (this.repo && (await this.repo.has(signature))) return 'repo'
    return undefined
  }

  async resolve(signature: string): Promise<CachedStage | undefined> {
    return (await this.local.resolve(signature)) ?? this.repo?.resolve(signature)
  }

  async labels(signature: string): Promise<Record<string, string> | undefined> {
    return (await this.local.labels(signature)) ?? this.repo?.labels(signature)
  }
}
