import {MediaType, toOciLayerMediaType} from '../oci/media-types.js'
import type {ContainerConfig, Descriptor, HistoryEntry, ImageConfig, ImageManifest} from '../oci/types.js'
import type {ImageParts} from './image.js'

/** Pure composition: each function returns a new image value and leaves where its bytes live as it was. */

/** A layer as composition needs it: its descriptor and the digest of its uncompressed tar. */
export interface LayerFacts {
  mediaType: string
  digest: Descriptor['digest']
  size: number
  diffId: Descriptor['digest']
}

/** A base image as the first stage: OCI media types, same layer bytes. */
export function normalizeImage<T extends ImageParts>(image: T): T {
  return {
    ...image,
    manifest: {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {...image.manifest.config, mediaType: MediaType.OciConfig},
      layers: image.manifest.layers.map(l => ({mediaType: toOciLayerMediaType(l.mediaType), digest: l.digest, size: l.size})),
    },
  }
}

/** The image with one more layer (or, for `undefined`, an empty history entry). */
export function appendLayer<T extends ImageParts>(image: T, layer: LayerFacts | undefined, history: HistoryEntry): T {
  const config: ImageConfig = {
    ...image.config,
    rootfs: {type: 'layers', diff_ids: [...image.config.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])]},
    history: [...(image.config.history ?? []), {...history, ...(layer ? {} : {empty_layer: true})}],
  }
  const manifest: ImageManifest = {
    ...image.manifest,
    layers: [...image.manifest.layers, ...(layer ? [{mediaType: layer.mediaType, digest: layer.digest, size: layer.size}] : [])],
  }
  return {...image, manifest, config}
}

export function withContainerConfig<T extends ImageParts>(image: T, fn: (c: ContainerConfig) => ContainerConfig): T {
  return {...image, config: {...image.config, config: fn(image.config.config ?? {})}}
}

/** The container config's labels replaced by `fn` of them. */
export function relabel<T extends ImageParts>(image: T, fn: (labels: Record<string, string> | undefined) => Record<string, string>): T {
  return withContainerConfig(image, c => ({...c, Labels: fn(c.Labels)}))
}

/**
 * The config and manifest as they are written: the config stamped `created`, the manifest with `annotations`
 * (an OCI manifest whatever the image was read as). Bytes are what their digests are taken of.
 */
export function serializeImage(image: ImageParts, annotations: Record<string, string>, created: string): {config: Buffer; manifest: (configDesc: Descriptor) => Buffer} {
  const config: ImageConfig = {...image.config, created}
  return {
    config: Buffer.from(JSON.stringify(config)),
    manifest: configDesc => {
      const manifest: ImageManifest = {schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: image.manifest.layers, annotations}
      return Buffer.from(JSON.stringify(manifest))
    },
  }
}
