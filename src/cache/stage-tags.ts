import {SlipwayError} from '../errors.js'
import type {ImageParts} from '../image/index.js'
import {stageLabelMismatch, stageTag, type StageTagExpectation} from '../naming/index.js'
import {toOciManifest} from '../oci/docker-schema2.js'
import {MediaType} from '../oci/media-types.js'
import {formatRef, type Repository, withDigest, withTag} from '../oci/ref.js'
import type {ImageConfig, ImageManifest} from '../oci/types.js'
import type {FetchedManifest, RegistryClient} from '../registry/index.js'

/** Stage configs are a few KiB; anything much larger at a stage tag is not a stage image. */
const STAGE_CONFIG_MAX_BYTES = 1024 * 1024

/** Whatever hands out the registry client (a workflow context). */
export interface RegistryAccess {
  registry(): Promise<RegistryClient>
}

export type StageLookup =
  | {found: 'stage'; fetched: FetchedManifest; manifest: ImageManifest; config: ImageConfig; annotations: Record<string, string>}
  | {found: 'absent'}
  /** The tag names an image whose labels say it is another stage: it must not be used as this one. */
  | {found: 'mismatch'; reason: string}

/**
 * `REPO:dimgstage-<signature>` as this project's stage, checked before anything of it is used or stored: the
 * manifest's annotations and the config's labels must both carry the tag's signature and our cache version
 * (and our project, when they name one). A tag re-pointed at another image is 'mismatch'. Whether the tag
 * exists is asked with a HEAD (on Docker Hub a manifest GET counts as a pull, a HEAD not): most stages a
 * plan looks up are absent, and those cost no GET. A tag the caller just saw in REPO's tag listing (`listed`)
 * is fetched straight away: the GET would follow the HEAD anyway, and the round trip is saved.
 */
export async function lookUpStageTag(ctx: RegistryAccess, repo: Repository, want: StageTagExpectation, opts: {listed?: boolean} = {}): Promise<StageLookup> {
  const client = await ctx.registry()
  const ref = withTag(repo, stageTag(want.signature))
  let fetched: FetchedManifest
  try {
    if (opts.listed) {
      fetched = await client.getManifest(ref)
    } else {
      const head = await client.headManifest(ref)
      if (!head) return {found: 'absent'}
      // by digest: the document is the one the HEAD named, checked against it
      fetched = await client.getManifest(withDigest(repo, head.digest))
    }
  } catch (e) {
    if (e instanceof SlipwayError && e.kind === 'not-found') return {found: 'absent'}
    throw e
  }
  let manifest: Partial<ImageManifest>
  try {
    manifest = JSON.parse(fetched.bytes.toString('utf8')) as Partial<ImageManifest>
  } catch {
    return {found: 'mismatch', reason: 'it is not a JSON image manifest'}
  }
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) return {found: 'mismatch', reason: 'it is not a single image manifest'}
  const annotations = manifest.annotations ?? {}
  // a stage pushed as Docker schema 2 (a registry that refuses OCI manifests) has no annotations: labels decide
  const byAnnotations = Object.keys(annotations).length > 0 ? stageLabelMismatch(annotations, want) : undefined
  if (byAnnotations) return {found: 'mismatch', reason: byAnnotations}
  const config = await stageConfig(ctx, repo, manifest.config.digest, manifest.config.size)
  if (!config) return {found: 'mismatch', reason: 'its config blob is not in the repository'}
  const byLabels = stageLabelMismatch(config.config?.Labels, want)
  if (byLabels) return {found: 'mismatch', reason: byLabels}
  if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) return {found: 'mismatch', reason: 'its config has no rootfs'}
  return {found: 'stage', fetched, manifest: manifest as ImageManifest, config: config as ImageConfig, annotations}
}

async function stageConfig(ctx: RegistryAccess, repo: Repository, digest: ImageManifest['config']['digest'], size: number | undefined): Promise<Partial<ImageConfig> | undefined> {
  if (size !== undefined && (!Number.isSafeInteger(size) || size > STAGE_CONFIG_MAX_BYTES)) return {}
  const chunks: Buffer[] = []
  try {
    for await (const chunk of await (await ctx.registry()).getBlob(repo, digest, size === undefined ? {} : {size})) chunks.push(chunk)
  } catch (e) {
    if (e instanceof SlipwayError && e.kind === 'not-found') return undefined
    throw e
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<ImageConfig>
  } catch {
    return {}
  }
}

/** A found stage as the OCI image we compose on: a stage a registry took only as Docker schema 2 is the same image. */
export function ociStageParts(found: Extract<StageLookup, {found: 'stage'}>): ImageParts {
  const docker = found.fetched.mediaType === MediaType.DockerManifest || found.manifest.mediaType === MediaType.DockerManifest
  return {manifest: docker ? toOciManifest(found.manifest) : found.manifest, config: found.config}
}

/** The warning for a stage tag that is not used. */
export function mismatchWarning(repo: Repository, signature: string, reason: string): string {
  return `${formatRef(withTag(repo, stageTag(signature)))} is not used as stage ${signature.slice(0, 12)}: ${reason}; treated as absent (it will be built)`
}
