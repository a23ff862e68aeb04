import type {Image} from '../image/index.js'
import type {StageFacts} from '../naming/index.js'
import type {Digest} from '../oci/digest.js'
import type {AnyManifest, Descriptor, ImageManifest} from '../oci/types.js'
import type {FetchedManifest} from '../registry/index.js'

/** A stage found in a stages cache, checked complete: manifest and config read, labels agreeing with its name. */
export interface CachedStage {
  signature: string
  where: 'local' | 'repo'
  /** Its manifest and config; layers as descriptors whose bytes stay where they are until read. */
  image: Image
  /** The stage labels its manifest carries (for a Docker schema 2 stage, its config's labels). */
  labels: Record<string, string>
  /** local: the store's descriptor of the manifest. */
  descriptor?: Descriptor
  /** repo: the manifest as fetched, so that a pull does not GET it again. */
  fetched?: FetchedManifest
}

/**
 * The stages of one project in one place: the local store (`dimgstage-<project>:<signature>`) or a registry
 * repository (`REPO:dimgstage-<signature>`).
 */
export interface StagesCache {
  readonly where: 'local' | 'repo'
  /** What the cache is, for messages. */
  readonly name: string
  /** Whether it holds a stage of that signature, without reading the stage (a registry answers from its tag list). */
  has(signature: string): Promise<boolean>
  /** The stage, checked complete, or undefined when absent (or, in a registry, a tag whose image is not that stage). */
  resolve(signature: string): Promise<CachedStage | undefined>
  /** Its stage labels, or undefined when it is not here. */
  labels(signature: string): Promise<Record<string, string> | undefined>
  /**
   * Removes the stages (in a registry: their tags, never another tag), each only after the ones its `after`
   * names (the stages built on it, a cleanup plan's edges); returns the names removed.
   */
  delete(deletions: readonly StageDeletion[]): Promise<string[]>
}

/** One stage to delete and the stages to delete before it (a cleanup plan's PlannedDeletion is one). */
export interface StageDeletion {
  signature: string
  after: readonly string[]
}

/** A stage as a listing and the cleanup policies see it: what its manifest says, its labels parsed once. */
export interface ListedStage {
  signature: string
  /** Local name or registry reference of the stage image. */
  image: string
  digest: Digest
  /** Bytes of its layers. */
  size: number
  created: string | null
  /** Its stage labels; undefined when they are not a slipway stage's (another tool's image at a stage name). */
  facts: StageFacts | undefined
  /** The project the cache files it under: locally its name says so; in a registry (maybe shared) its label. */
  project: string | undefined
}

/** A final image (`REPO/DIMG:TAG`, `REPO:TAG`) and the stage it records it was made from (null: none). */
export interface FinalImage {
  ref: string
  stageSignature: string | null
}

/** Optional power: every stage the cache holds. */
export interface StageListing {
  listStages(): Promise<ListedStage[]>
}

/** Optional power of a cache that is also where final images live (a registry is their source of truth). */
export interface FinalImageListing {
  /** The final images of these dimgs (null: the unnamed one). */
  finalImages(dimgs: (string | null)[]): Promise<FinalImage[]>
}

export function canListStages(cache: StagesCache): cache is StagesCache & StageListing {
  return typeof (cache as Partial<StageListing>).listStages === 'function'
}

export function holdsFinalImages(cache: StagesCache): cache is StagesCache & FinalImageListing {
  return typeof (cache as Partial<FinalImageListing>).finalImages === 'function'
}

/** Bytes of a manifest's layers (0 for an index or anything without layers). */
export function layersSize(manifest: AnyManifest): number {
  return 'layers' in manifest ? (manifest as ImageManifest).layers.reduce((n, l) => n + l.size, 0) : 0
}
