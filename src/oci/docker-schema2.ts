import {MediaType, toDockerMediaType, toOciLayerMediaType} from './media-types.js'
import type {ImageManifest} from './types.js'

/**
 * The same image as a Docker schema 2 manifest, for registries that refuse OCI media types: the config
 * and layer bytes are the same, only the media types differ (annotations are kept; schema 2 readers
 * ignore them).
 */
export function toDockerSchema2(manifest: ImageManifest): ImageManifest {
  return withMediaTypes(manifest, MediaType.DockerManifest, MediaType.DockerConfig, toDockerMediaType)
}

/** A Docker schema 2 manifest as OCI (what an OCI image layout holds): same config and layer bytes. */
export function toOciManifest(manifest: ImageManifest): ImageManifest {
  return withMediaTypes(manifest, MediaType.OciManifest, MediaType.OciConfig, toOciLayerMediaType)
}

function withMediaTypes(manifest: ImageManifest, mediaType: string, configType: string, layerType: (mediaType: string) => string): ImageManifest {
  return {
    ...manifest,
    mediaType,
    config: {...manifest.config, mediaType: configType},
    layers: manifest.layers.map(l => ({...l, mediaType: layerType(l.mediaType)})),
  }
}
