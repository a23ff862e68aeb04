import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {type DownloadCounter, registrySource} from '../image/index.js'
import {CREATED_ANNOTATION, finalImageRepository, LABEL, parseStageLabels, signatureOfStageTag, stageTag} from '../naming/index.js'
import type {Digest} from '../oci/digest.js'
import {formatRef, type Repository, withTag} from '../oci/ref.js'
import type {AnyManifest} from '../oci/types.js'
import {lookUpStageTag, mismatchWarning, ociStageParts, type RegistryAccess} from './stage-tags.js'
import {
  type CachedStage,
  type FinalImage,
  type FinalImageListing,
  layersSize,
  type ListedStage,
  type StageDeletion,
  type StageListing,
  type StagesCache,
} from './stages-cache.js'

export interface RegistryStagesCacheOptions {
  project: string
  cacheVersion: string
  /** Blob bytes read from the registry (configs here, layers by whoever reads the stage images). */
  downloads: DownloadCounter
  /** Where a tag that is not the stage it names is reported (once per tag). */
  warn: (line: string) => void
  /** Manifests read, or tags deleted, at a time. */
  jobs: number
  /** Where each deleted tag is reported as it goes (deleting many takes the registry a while). */
  deleted?: (ref: string) => void
}

/** A tag of a repository and the manifest it points at, as fetched by tag. */
interface TaggedManifest {
  tag: string
  digest: Digest
  manifest: AnyManifest
}

/**
 * `REPO:dimgstage-<signature>`: the tags are listed once, and only signatures in that list are looked at
 * (a GET of the manifest and of the small config, whose labels must agree with the tag). Layers are never
 * read here.
 */
export class RegistryStagesCache implements StagesCache, StageListing, FinalImageListing {
  readonly where = 'repo'
  readonly name: string
  private tagNames?: Promise<string[]>
  private listing?: Promise<Set<string>>
  private manifests?: Promise<TaggedManifest[]>
  private stages?: Promise<ListedStage[]>
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
    this.listing ??= (async () => new Set((await this.tags()).map(t => signatureOfStageTag(t)).filter((s): s is string => s !== undefined)))()
    return this.listing
  }

  private tags(): Promise<string[]> {
    this.tagNames ??= (async () => (await this.access.registry()).listTags(this.repository))()
    return this.tagNames
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

  /** Every stage tag with its manifest's facts (REPO may hold other projects' stages: their labels say so). */
  listStages(): Promise<ListedStage[]> {
    this.stages ??= (async () =>
      (await this.taggedManifests()).flatMap(t => {
        const signature = signatureOfStageTag(t.tag)
        if (!signature) return []
        const annotations = t.manifest.annotations
        const facts = parseStageLabels(annotations)
        const created = annotations?.[CREATED_ANNOTATION] ?? null
        return [{signature, image: formatRef(withTag(this.repository, t.tag)), digest: t.digest, size: layersSize(t.manifest), created, facts, project: facts?.project}]
      }))()
    return this.stages
  }

  /** REPO/DIMG:* for a named dimg, REPO:* (stage tags aside) for the unnamed one, with the stage each names. */
  async finalImages(dimgs: (string | null)[]): Promise<FinalImage[]> {
    const perDimg = await Promise.all(
      dimgs.map(async dimg => {
        const target = finalImageRepository(this.repository, dimg)
        const tagged = dimg === null ? await this.taggedManifests() : await taggedManifests(this.access, target, await this.finalTags(target), this.opts.jobs)
        return tagged.filter(t => !signatureOfStageTag(t.tag)).map(t => ({ref: formatRef(withTag(target, t.tag)), stageSignature: t.manifest.annotations?.[LABEL.finalStage] ?? null}))
      }),
    )
    return perDimg.flat()
  }

  /**
   * Deletes stage tags in the order the deletions' edges give (children before parents, importing stages
   * before their import sources), so an interrupted cleanup never leaves a stage whose parent is gone. Each
   * tag is deleted as soon as everything it waits for is gone, up to `jobs` at a time, with no waiting for a whole generation: on distribution every
   * manifest DELETE rescans all the repository's tags, so the registry's time dominates and must not idle.
   * A manifest is deleted by digest when no other tag of the repository points at it (one request); otherwise
   * the registry client's safe tag deletion runs.
   */
  async delete(deletions: readonly StageDeletion[]): Promise<string[]> {
    const client = await this.access.registry()
    const tagged = await this.taggedManifests()
    const digestOf = new Map(tagged.map(t => [t.tag, t.digest]))
    const tagsByDigest = new Map<string, Set<string>>()
    for (const t of tagged) {
      const set = tagsByDigest.get(t.digest) ?? new Set()
      set.add(t.tag)
      tagsByDigest.set(t.digest, set)
    }
    const doomed = new Set(deletions.map(d => d.signature))
    // signature → the deletions waiting for it; and how many deletions each still waits for
    const unblocks = new Map<string, string[]>(deletions.map(d => [d.signature, []]))
    const waitingFor = new Map<string, number>()
    for (const d of deletions) {
      const after = [...new Set(d.after)].filter(s => s !== d.signature && doomed.has(s))
      waitingFor.set(d.signature, after.length)
      for (const s of after) unblocks.get(s)!.push(d.signature)
    }
    const deleted: string[] = []
    const done = new Set<string>()
    const limit = pLimit(this.opts.jobs)
    const deleteOne = async (signature: string): Promise<void> => {
      const tag = stageTag(signature)
      const digest = digestOf.get(tag)
      const sharing = digest ? tagsByDigest.get(digest)! : new Set<string>()
      if (digest && sharing.size === 1) await client.deleteManifest(this.repository, digest)
      else await client.deleteTag(this.repository, tag)
      sharing.delete(tag)
      done.add(signature)
      const ref = formatRef(withTag(this.repository, tag))
      this.opts.deleted?.(ref)
      deleted.push(ref)
    }
    const run = async (signature: string): Promise<void> => {
      await limit(() => deleteOne(signature))
      const ready = unblocks.get(signature)!.filter(s => {
        const left = waitingFor.get(s)! - 1
        waitingFor.set(s, left)
        return left === 0
      })
      await Promise.all(ready.map(run))
    }
    await Promise.all([...doomed].filter(s => !waitingFor.get(s)).map(run))
    // stages in a cycle of malformed labels never become ready: they go last, one by one
    for (const s of [...doomed].filter(s => !done.has(s))) await deleteOne(s)
    if (doomed.size !== deleted.length) throw new SlipwayError('internal', 'cleanup deleted a different set of tags than planned')
    return deleted
  }

  /** Every tag of REPO with its manifest, fetched once. */
  private taggedManifests(): Promise<TaggedManifest[]> {
    this.manifests ??= (async () => taggedManifests(this.access, this.repository, await this.tags(), this.opts.jobs))()
    return this.manifests
  }

  private async finalTags(repo: Repository): Promise<string[]> {
    return (await (await this.access.registry()).listTags(repo)).filter(t => !signatureOfStageTag(t))
  }

  private async lookUp(signature: string): Promise<CachedStage | undefined> {
    if (!(await this.has(signature))) return undefined
    const found = await lookUpStageTag(this.access, this.repository, {signature, cacheVersion: this.opts.cacheVersion, project: this.opts.project}, {listed: true})
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

/** The tags with their manifests, fetched in parallel, once each. */
async function taggedManifests(access: RegistryAccess, repo: Repository, tags: string[], jobs: number): Promise<TaggedManifest[]> {
  const client = await access.registry()
  const limit = pLimit(jobs)
  const out = await Promise.all(
    tags.map(tag =>
      limit(async () => {
        try {
          const got = await client.getManifest(withTag(repo, tag))
          return {tag, digest: got.digest, manifest: JSON.parse(got.bytes.toString('utf8')) as AnyManifest}
        } catch (e) {
          // a tag deleted between listing and fetching is simply gone
          if (e instanceof SlipwayError && e.kind === 'not-found') return undefined
          throw e
        }
      }),
    ),
  )
  return out.filter((t): t is TaggedManifest => t !== undefined)
}
