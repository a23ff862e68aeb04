import {SlipwayError} from '../errors.js'
import {DownloadCounter} from '../image/index.js'
import type {Repository} from '../oci/ref.js'
import {CACHE_VERSION} from '../stage/signature.js'
import type {OciStore} from '../store/index.js'
import {StageCaches} from './caches.js'
import {LocalStagesCache} from './local.js'
import {RegistryStagesCache} from './registry.js'
import type {RegistryAccess} from './stage-tags.js'
import type {StagesCache} from './stages-cache.js'

/** What the caches of a project are opened with (a workflow context): the store, the registry client, the jobs, where lines go. */
export interface CacheContext extends RegistryAccess {
  readonly jobs: number
  readonly reporter: {info(line: string): void; warn(line: string): void}
  store(): Promise<OciStore>
}

/** The project a cache holds stages of: its name, and whether its local stages are the --dev ones. */
export interface CachedProject {
  name: string
  dev: boolean
}

/** The project's stages in REPO (`REPO:dimgstage-<signature>`); blob bytes read are counted in `downloads`. */
export function registryStagesCache(ctx: CacheContext, project: Pick<CachedProject, 'name'>, repo: Repository, downloads = new DownloadCounter()): RegistryStagesCache {
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
export async function stagesCacheAt(ctx: CacheContext, project: Pick<CachedProject, 'name'>, where: 'local' | 'repo', opts: {repo?: Repository; dev?: boolean}): Promise<StagesCache> {
  if (where === 'local') return new LocalStagesCache(await ctx.store(), project.name, opts.dev ?? false)
  if (!opts.repo) throw new SlipwayError('usage', 'the registry stages cache needs REPO', {hint: 'give the registry repository, e.g. localhost:5000/myproject'})
  return registryStagesCache(ctx, project, opts.repo)
}

/** The stages caches a run plans against: the local store's, and REPO's when one is given. */
export async function stageCaches(ctx: CacheContext, project: CachedProject, repo?: Repository): Promise<StageCaches> {
  const downloads = new DownloadCounter()
  const local = new LocalStagesCache(await ctx.store(), project.name, project.dev)
  return new StageCaches(local, repo ? registryStagesCache(ctx, project, repo, downloads) : undefined, downloads)
}
