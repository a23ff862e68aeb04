import {MediaType, toDockerMediaType, toOciLayerMediaType} from './media-types.js'
import type {ImageManifest} from './types.js'

/**
 * The same image as a Docker schema 2 manifest, for registries that refuse OCI media types: the config
 * and layer bytes are the same, only the media types differ (annotations are kept; schema 2 readers
 * ignore them).
 */
export function toDockerSchema2(manifest: ImageManifest): ImageManifest {
  return {
    ...manifest,
    mediaType: MediaType.DockerManifest,
    config: {...manifest.config, mediaType: MediaType.DockerConfig},
    layers: manifest.layers.map(l => ({...l, mediaType: toDockerMediaType(l.mediaType)})),
  }
}

/** A Docker schema 2 manifest as OCI (what an OCI image layout holds): same config and layer bytes. */
export function toOciManifest(manifest: ImageManifest): ImageManifest {
  return {
    ...manifest,
    mediaType: MediaType.OciManifest,
    config: {...manifest.config, mediaType: MediaType.OciConfig},
    layers: manifest.layers.map(l => ({...l, mediaType: toOciLayerMediaType(l.mediaType)})),
  }
}
