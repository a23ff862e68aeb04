import type {Image} from '../image/index.js'
import type {Descriptor} from '../oci/types.js'
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
  /** Removes the stages; returns the names removed. */
  delete(signatures: string[]): Promise<string[]>
}
