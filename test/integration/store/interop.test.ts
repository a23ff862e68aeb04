import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'

import {sha256Digest} from '../../../src/oci/digest.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {ImageManifest} from '../../../src/oci/types.js'
import {OciStore} from '../../../src/store/index.js'
import {filesTar} from '../../helpers/tar.js'
import {useTempDir} from '../../helpers/tmp.js'

const run = promisify(execFile)

const tmp = useTempDir('store-interop', {each: true})
let store: OciStore
beforeEach(async () => {
  store = await OciStore.open(`${tmp.path}/store`)
})

/** A one-layer image written through the store API, named `name`. */
async function buildImage(name: string): Promise<ImageManifest> {
  const rawTar = await filesTar({'etc/hello.txt': 'hello from slipway\n'})
  const gz = gzipSync(rawTar)
  const layer = await store.writeBlob(() => gz, {digest: sha256Digest(gz), size: gz.length})
  const config = await store.writeJson({
    architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z',
    config: {Cmd: ['/bin/sh'], Labels: {'dimgstage.signature': 'abc'}},
    rootfs: {type: 'layers', diff_ids: [sha256Digest(rawTar)]},
    history: [{created: '1970-01-01T00:00:00Z', created_by: 'slipway test'}],
  }, MediaType.OciConfig)
  const manifest: ImageManifest = {schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [{mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size}]}
  await store.setRef(name, await store.writeJson(manifest, MediaType.OciManifest), {'io.slipway.stage': 'from'})
  return manifest
}

const STAGE = `dimgstage-proj:${'c0ffee'.repeat(10)}abcd`

describe('the store as an OCI layout for other tools', () => {
  it('skopeo inspects an image Slipway wrote, named with a colon', async () => {
    const manifest = await buildImage(STAGE)
    const {stdout} = await run('skopeo', ['inspect', `oci:${store.root}:${STAGE}`])
    const info = JSON.parse(stdout) as {Layers: string[]; Labels: Record<string, string>; Architecture: string}
    expect(info.Layers).toEqual([manifest.layers[0].digest])
    expect(info.Labels).toEqual({'dimgstage.signature': 'abc'})
    expect(info.Architecture).toBe('amd64')
  })

  it('umoci unpacks an image Slipway wrote', async () => {
    await buildImage(STAGE)
    await run('umoci', ['unpack', '--rootless', '--image', `${store.root}:${STAGE}`, `${tmp.path}/bundle`])
    expect(await readFile(`${tmp.path}/bundle/rootfs/etc/hello.txt`, 'utf8')).toBe('hello from slipway\n')
  })

  it('sees what skopeo and umoci write into the store, and verifies it clean', async () => {
    const manifest = await buildImage('a')
    await run('skopeo', ['copy', '--quiet', `oci:${store.root}:a`, `oci:${store.root}:b`])
    await run('umoci', ['new', '--image', `${store.root}:fresh`])
    const refs = await store.listRefs()
    expect(refs.map(r => r.name).sort()).toEqual(['a', 'b', 'fresh'])
    const b = refs.find(r => r.name === 'b')!
    const copied = await store.getManifest(b.descriptor.digest) as ImageManifest
    expect(copied.layers.map(l => l.digest)).toEqual(manifest.layers.map(l => l.digest))
    const fresh = await store.getManifest(refs.find(r => r.name === 'fresh')!.descriptor.digest) as ImageManifest
    expect((await store.getConfig(fresh.config.digest)).rootfs.diff_ids).toEqual([])

    const report = await store.verify()
    expect(report.corrupt).toEqual([])
    expect(report.missing).toEqual([])
    expect(report.ok).toBe(true)
    // nothing the tools referenced is garbage, even when every blob counts as old
    expect((await store.gc({blobMinAgeMs: 0})).removedBlobs).toEqual([])
    await run('skopeo', ['inspect', `oci:${store.root}:b`])
    expect((await (await OciStore.open(store.root)).listRefs()).length).toBe(3)
  })
})
