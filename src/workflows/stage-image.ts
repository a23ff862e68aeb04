import {extractLayer, type LayerBlob, type LayerStream} from '../build/index.js'
import {SlipwayError} from '../errors.js'
import type {Digest} from '../oci/digest.js'
import {MediaType, toOciLayerMediaType} from '../oci/media-types.js'
import type {ContainerConfig, Descriptor, HistoryEntry, ImageConfig, ImageManifest} from '../oci/types.js'
import {isImageIndex} from '../oci/types.js'
import type {Lease, OciStore} from '../store/index.js'

/** An image being built: its manifest and config, held in memory until saved to the store. */
export interface ImageState {
  manifest: ImageManifest
  config: ImageConfig
}

export async function loadImage(store: OciStore, digest: Digest): Promise<ImageState> {
  const manifest = await store.getManifest(digest)
  if (isImageIndex(manifest)) throw new SlipwayError('integrity', `local image ${digest} is an index, not an image`)
  const config = await store.getConfig(manifest.config.digest)
  return {manifest, config}
}

/** A base image as the first stage: OCI media types, same layer bytes. */
export function normalizeImage(image: ImageState): ImageState {
  return {
    manifest: {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {...image.manifest.config, mediaType: MediaType.OciConfig},
      layers: image.manifest.layers.map(l => ({mediaType: toOciLayerMediaType(l.mediaType), digest: l.digest, size: l.size})),
    },
    config: image.config,
  }
}

/** Unpacks every layer of the image, in order, into `root`. */
export async function extractImage(store: OciStore, image: ImageState, root: string, signal?: AbortSignal): Promise<void> {
  for (const layer of image.manifest.layers) {
    await extractLayer(await store.openBlob(layer.digest), root, {label: layer.digest, ...(signal ? {signal} : {})})
  }
}

/** Streams a layer into the store and returns its blob facts, checking the writer's and the store's digests agree. */
export async function storeLayer(store: OciStore, lease: Lease, layer: LayerStream): Promise<LayerBlob> {
  const [written, blob] = await consumeLayer(store.writeBlob(layer.stream, {}, lease), layer.done)
  if (written.digest !== blob.digest || written.size !== blob.size) {
    throw new SlipwayError('internal', `layer digest mismatch: wrote ${written.digest}, computed ${blob.digest}`)
  }
  return blob
}

/**
 * Waits for a layer stream's consumer and its producer. When one fails, its error is the one thrown: a
 * consumer that stops (a full disk, a hostile entry) destroys the stream, and the producer then only
 * reports AbortError; a producer that fails makes the consumer read its error from the stream.
 */
export async function consumeLayer<C, P>(consuming: Promise<C>, producing: Promise<P>): Promise<[C, P]> {
  const [c, p] = await Promise.allSettled([consuming, producing])
  if (c.status === 'rejected') throw c.reason
  if (p.status === 'rejected') throw p.reason
  return [c.value, p.value]
}

/** The image with one more layer (or, for `undefined`, an empty history entry). */
export function appendLayer(image: ImageState, layer: LayerBlob | undefined, history: HistoryEntry): ImageState {
  const config: ImageConfig = {
    ...image.config,
    rootfs: {type: 'layers', diff_ids: [...image.config.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])]},
    history: [...(image.config.history ?? []), {...history, ...(layer ? {} : {empty_layer: true})}],
  }
  const manifest: ImageManifest = {
    ...image.manifest,
    layers: [...image.manifest.layers, ...(layer ? [{mediaType: layer.mediaType, digest: layer.digest, size: layer.size}] : [])],
  }
  return {manifest, config}
}

export function withContainerConfig(image: ImageState, fn: (c: ContainerConfig) => ContainerConfig): ImageState {
  return {...image, config: {...image.config, config: fn(image.config.config ?? {})}}
}

/** Writes config and manifest; returns the manifest's descriptor. Annotations go on the manifest. */
export async function saveImage(store: OciStore, lease: Lease, image: ImageState, annotations: Record<string, string>, created: string): Promise<Descriptor> {
  const config: ImageConfig = {...image.config, created}
  const configDesc = await store.writeJson(config, MediaType.OciConfig, lease)
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers: image.manifest.layers,
    annotations,
  }
  return store.writeJson(manifest, MediaType.OciManifest, lease)
}
