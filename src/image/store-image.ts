import {SlipwayError} from '../errors.js'
import type {Digest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import type {Descriptor} from '../oci/types.js'
import {isImageIndex} from '../oci/types.js'
import type {Lease, OciStore} from '../store/index.js'
import {serializeImage} from './compose.js'
import type {Image, ImageParts} from './image.js'
import {storeSource} from './sources.js'

/** The image the store holds under `digest`, its blobs read from the store. */
export async function loadStoreImage(store: OciStore, digest: Digest): Promise<Image> {
  const manifest = await store.getManifest(digest)
  if (isImageIndex(manifest)) throw new SlipwayError('integrity', `local image ${digest} is an index, not an image`)
  const config = await store.getConfig(manifest.config.digest)
  return {manifest, config, source: storeSource(store)}
}

/** Layers of the image the store does not have (their bytes are still only where the image came from). */
export async function blobsMissingFrom(store: OciStore, image: ImageParts): Promise<Descriptor[]> {
  const have = await Promise.all(image.manifest.layers.map(l => store.hasBlob(l.digest)))
  return image.manifest.layers.filter((_, i) => !have[i])
}

/** Writes config and manifest into the store; returns the manifest's descriptor. Annotations go on the manifest. */
export async function saveImage(store: OciStore, lease: Lease, image: ImageParts, annotations: Record<string, string>, created: string): Promise<Descriptor> {
  const bytes = serializeImage(image, annotations, created)
  const config = await store.writeBlobBytes(bytes.config, undefined, lease)
  const manifest = await store.writeBlobBytes(bytes.manifest({mediaType: MediaType.OciConfig, digest: config.digest, size: config.size}), undefined, lease)
  return {mediaType: MediaType.OciManifest, digest: manifest.digest, size: manifest.size}
}

/**
 * Copies into the store the layers it lacks, read from the image's source: the only way layer bytes come
 * down from a registry during a build. Each blob is leased before it is written.
 */
export async function fetchMissingLayers(store: OciStore, lease: Lease, image: Image, layers: readonly Descriptor[] = image.manifest.layers): Promise<Descriptor[]> {
  const have = await Promise.all(layers.map(l => store.hasBlob(l.digest)))
  const missing = layers.filter((_, i) => !have[i])
  if (missing.length > 0) await lease.add(...missing.map(l => l.digest))
  await Promise.all(missing.map(l => store.writeBlob(() => image.source.openBlob(l), {digest: l.digest, size: l.size}, lease)))
  return missing
}
