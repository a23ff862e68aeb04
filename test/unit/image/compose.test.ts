import {createHash} from 'node:crypto'

import {appendLayer, type ImageParts, normalizeImage, relabel, serializeImage, withContainerConfig} from '../../../src/image/index.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {Descriptor} from '../../../src/oci/types.js'

const digest = (c: string): Descriptor['digest'] => `sha256:${c.repeat(64)}` as Descriptor['digest']

const base = (): ImageParts => ({
  manifest: {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: {mediaType: MediaType.DockerConfig, digest: digest('c'), size: 10},
    layers: [{mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digest('a'), size: 100}],
  },
  config: {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [digest('d')]}, config: {Labels: {keep: 'yes', 'dev.slipway.stage.name': 'old'}}},
})

describe('image composition', () => {
  it('normalizes a Docker base to OCI media types with the same layer bytes', () => {
    const n = normalizeImage(base())
    expect(n.manifest.mediaType).toBe(MediaType.OciManifest)
    expect(n.manifest.config).toEqual({mediaType: MediaType.OciConfig, digest: digest('c'), size: 10})
    expect(n.manifest.layers).toEqual([{mediaType: MediaType.OciLayerGzip, digest: digest('a'), size: 100}])
  })

  it('appends a layer (descriptor, diff id, history) and an empty layer as history only, leaving the input alone', () => {
    const before = base()
    const snapshot = JSON.stringify(before)
    const layer = {mediaType: MediaType.OciLayerGzip, digest: digest('b'), size: 5, diffId: digest('e')}
    const one = appendLayer(before, layer, {created: 't1', created_by: 'x'})
    const two = appendLayer(one, undefined, {created: 't2', created_by: 'y'})
    expect(JSON.stringify(before)).toBe(snapshot)
    expect(two.manifest.layers.map(l => l.digest)).toEqual([digest('a'), digest('b')])
    expect(two.config.rootfs.diff_ids).toEqual([digest('d'), digest('e')])
    expect(two.config.history).toEqual([
      {created: 't1', created_by: 'x'},
      {created: 't2', created_by: 'y', empty_layer: true},
    ])
  })

  it('keeps whatever else the value carries (where its bytes live)', () => {
    const source = {name: 'somewhere'}
    const image = {...base(), source}
    expect(appendLayer(image, undefined, {created: 't'}).source).toBe(source)
    expect(relabel(image, () => ({})).source).toBe(source)
    expect(normalizeImage(image).source).toBe(source)
  })

  it('relabels and sets the container config', () => {
    const r = relabel(base(), l => ({...l, added: '1'}))
    expect(r.config.config?.Labels).toEqual({keep: 'yes', 'dev.slipway.stage.name': 'old', added: '1'})
    expect(withContainerConfig(base(), c => ({...c, User: 'app'})).config.config?.User).toBe('app')
  })

  it('serializes config then manifest as the bytes their digests are of', () => {
    const bytes = serializeImage(base(), {a: 'b'}, '2020-01-01T00:00:00Z')
    const config = JSON.parse(bytes.config.toString('utf8')) as {created: string}
    expect(config.created).toBe('2020-01-01T00:00:00Z')
    const configDesc = {mediaType: MediaType.OciConfig, digest: `sha256:${createHash('sha256').update(bytes.config).digest('hex')}` as Descriptor['digest'], size: bytes.config.length}
    expect(JSON.parse(bytes.manifest(configDesc).toString('utf8'))).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDesc,
      layers: base().manifest.layers,
      annotations: {a: 'b'},
    })
  })
})
