import type {Digest} from '../oci/digest.js'
import type {Repository} from '../oci/ref.js'
import type {Descriptor, ImageConfig, ImageManifest} from '../oci/types.js'

/** A blob being read: its chunks, and a way to stop reading early. */
export type BlobBytes = AsyncIterable<Uint8Array> & {destroy(): void}

/**
 * Where an image's blobs are: the local store, a registry repository, or the store first and then a
 * registry (a stage built here on a parent that lives only in REPO). Bytes are fetched only when read.
 */
export interface ImageSource {
  /** For messages: "the local store", "host/repo". */
  readonly name: string
  /** The registry repository that holds the blobs the store lacks (a push mounts them from there). */
  readonly repository?: Repository
  hasBlob(digest: Digest): Promise<boolean>
  /** The blob's bytes, checked against the descriptor by whoever serves them. */
  openBlob(blob: Descriptor): Promise<BlobBytes>
}

/** Manifest and config, parsed once: what composition works on. */
export interface ImageParts {
  manifest: ImageManifest
  config: ImageConfig
}

/** An image: its manifest and config, its layers as descriptors, and where their bytes are. */
export interface Image extends ImageParts {
  source: ImageSource
}
