import {toDockerSchema2, toOciManifest} from '../../../src/oci/docker-schema2.js'
import type {Digest} from '../../../src/oci/digest.js'
import type {ImageManifest} from '../../../src/oci/types.js'

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest

const oci: ImageManifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest('a'), size: 10},
  layers: [
    {mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('b'), size: 20},
    {mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest('c'), size: 30},
  ],
  annotations: {'dev.slipway.stage.name': 'install'},
}

describe('Docker schema 2 conversion', () => {
  it('changes only media types, both ways', () => {
    const docker = toDockerSchema2(oci)
    expect(docker.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json')
    expect(docker.config).toEqual({...oci.config, mediaType: 'application/vnd.docker.container.image.v1+json'})
    expect(docker.layers.map(l => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar'])
    expect(docker.layers.map(l => [l.digest, l.size])).toEqual(oci.layers.map(l => [l.digest, l.size]))
    expect(docker.annotations).toEqual(oci.annotations)
    expect(toOciManifest(docker)).toEqual(oci)
  })
})
