import type {Digest} from '../oci/digest.js'
import {repositoryName, type Repository} from '../oci/ref.js'
import type {Descriptor} from '../oci/types.js'
import type {RegistryClient} from '../registry/index.js'
import type {OciStore} from '../store/index.js'
import type {BlobBytes, ImageSource} from './image.js'

/** Blob bytes read from registries by the sources of one run: what the run downloaded. */
export class DownloadCounter {
  bytes = 0
}

export function storeSource(store: OciStore): ImageSource {
  return {
    name: 'the local store',
    hasBlob: digest => store.hasBlob(digest),
    openBlob: blob => store.openBlob(blob.digest),
  }
}

/** A registry repository; every byte read is counted in `counter`. Existence is a HEAD, never a GET. */
export function registrySource(client: RegistryClient, repository: Repository, counter: DownloadCounter): ImageSource {
  return {
    name: repositoryName(repository),
    repository,
    hasBlob: async digest => (await client.headBlob(repository, digest)) !== undefined,
    openBlob: async (blob: Descriptor): Promise<BlobBytes> => {
      let seen = 0
      return client.getBlob(repository, blob.digest, {
        size: blob.size,
        onProgress: bytes => {
          counter.bytes += bytes - seen
          seen = bytes
        },
      })
    },
  }
}

/**
 * The store first, then `fallback` for what it lacks: a stage built here whose lower layers are still only in
 * a registry. Over a source that already reads the store it is that source.
 */
const layered = new WeakSet<ImageSource>()

export function storeThen(store: ImageSource, fallback: ImageSource): ImageSource {
  if (fallback === store || !fallback.repository) return store
  if (layered.has(fallback)) return fallback
  const source: ImageSource = {
    name: `${store.name}, then ${fallback.name}`,
    repository: fallback.repository,
    hasBlob: async (digest: Digest) => (await store.hasBlob(digest)) || fallback.hasBlob(digest),
    openBlob: async blob => ((await store.hasBlob(blob.digest)) ? store.openBlob(blob) : fallback.openBlob(blob)),
  }
  layered.add(source)
  return source
}
