import {type DownloadCounter, registrySource} from '../image/index.js'
import {signatureOfStageTag, stageTag} from '../naming/index.js'
import {formatRef, type Repository, withTag} from '../oci/ref.js'
import {lookUpStageTag, mismatchWarning, ociStageParts, type RegistryAccess} from './stage-tags.js'
import type {CachedStage, StagesCache} from './stages-cache.js'

export interface RegistryStagesCacheOptions {
  project: string
  cacheVersion: string
  /** Blob bytes read from the registry (configs here, layers by whoever reads the stage images). */
  downloads: DownloadCounter
  /** Where a tag that is not the stage it names is reported (once per tag). */
  warn: (line: string) => void
}

/**
 * `REPO:dimgstage-<signature>`: the tags are listed once, and only signatures in that list are looked at
 * (a GET of the manifest and of the small config, whose labels must agree with the tag). Layers are never
 * read here.
 */
export class RegistryStagesCache implements StagesCache {
  readonly where = 'repo'
  readonly name: string
  private listing?: Promise<Set<string>>
  private readonly resolved = new Map<string, Promise<CachedStage | undefined>>()

  constructor(
    private readonly access: RegistryAccess,
    readonly repository: Repository,
    private readonly opts: RegistryStagesCacheOptions,
  ) {
    this.name = formatRef(repository)
  }

  /** The signatures of REPO's stage tags: one tag listing per cache. */
  signatures(): Promise<Set<string>> {
    this.listing ??= (async () => {
      const tags = await (await this.access.registry()).listTags(this.repository)
      return new Set(tags.map(t => signatureOfStageTag(t)).filter((s): s is string => s !== undefined))
    })()
    return this.listing
  }

  async has(signature: string): Promise<boolean> {
    return (await this.signatures()).has(signature)
  }

  resolve(signature: string): Promise<CachedStage | undefined> {
    let found = this.resolved.get(signature)
    if (!found) {
      found = this.lookUp(signature)
      this.resolved.set(signature, found)
    }
    return found
  }

  async labels(signature: string): Promise<Record<string, string> | undefined> {
    return (await this.resolve(signature))?.labels
  }

  async delete(signatures: string[]): Promise<string[]> {
    const client = await this.access.registry()
    const deleted: string[] = []
    for (const signature of signatures) {
      await client.deleteTag(this.repository, stageTag(signature))
      deleted.push(formatRef(withTag(this.repository, stageTag(signature))))
    }
    return deleted
  }

  private async lookUp(signature: string): Promise<CachedStage | undefined> {
    if (!(await this.has(signature))) return undefined
    const found = await lookUpStageTag(this.access, this.repository, {signature, cacheVersion: this.opts.cacheVersion, project: this.opts.project})
    if (found.found === 'absent') return undefined
    if (found.found === 'mismatch') {
      this.opts.warn(mismatchWarning(this.repository, signature, found.reason))
      return undefined
    }
    this.opts.downloads.bytes += found.manifest.config.size
    const source = registrySource(await this.access.registry(), this.repository, this.opts.downloads)
    const image = {...ociStageParts(found), source}
    const labels = Object.keys(found.annotations).length > 0 ? found.annotations : (found.config.config?.Labels ?? {})
    return {signature, where: 'repo', image, labels, fetched: found.fetched}
  }
}
