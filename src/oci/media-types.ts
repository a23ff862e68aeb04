export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
]

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciManifest || mt === MediaType.DockerManifest
}

export function isGzipLayer(mt: string): boolean {
  return mt.endsWith('+gzip') || mt.endsWith('.tar.gzip')
}

/** Docker schema 2 equivalents of OCI media types, for registries that refuse OCI. */
export function toDockerMediaType(mt: string): string {
  switch (mt) {
    case MediaType.OciManifest: return MediaType.DockerManifest
    case MediaType.OciIndex: return MediaType.DockerManifestList
    case MediaType.OciConfig: return MediaType.DockerConfig
    case MediaType.OciLayerGzip: return MediaType.DockerLayerGzip
    case MediaType.OciLayer: return MediaType.DockerLayer
    default: return mt
  }
}

/** The OCI media type of a Docker schema 2 layer (the same bytes); other types are returned as they are. */
export function toOciLayerMediaType(mt: string): string {
  switch (mt) {
    case MediaType.DockerLayerGzip: return MediaType.OciLayerGzip
    case MediaType.DockerLayer: return MediaType.OciLayer
    default: return mt
  }
}
