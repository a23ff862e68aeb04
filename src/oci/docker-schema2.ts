import {MediaType, toDockerMediaType} from './media-types.js'
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
    layers: manifest.layers.map(l => ({...l, mediaType: l.mediaType === MediaType.OciLayer ? 'application/vnd.docker.image.rootfs.diff.tar' : toDockerMediaType(l.mediaType)})),
  }
}

const OCI_LAYER_OF: Record<string, string> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.OciLayer,
}

/** A Docker schema 2 manifest as OCI (what an OCI image layout holds): same config and layer bytes. */
export function toOciManifest(manifest: ImageManifest): ImageManifest {
  return {
    ...manifest,
    mediaType: MediaType.OciManifest,
    config: {...manifest.config, mediaType: MediaType.OciConfig},
    layers: manifest.layers.map(l => ({...l, mediaType: OCI_LAYER_OF[l.mediaType] ?? l.mediaType})),
  }
}
