import {randomBytes} from 'node:crypto'
import {stat} from 'node:fs/promises'

import {MediaType} from '../../../src/oci/media-types.js'
import {OciStore} from '../../../src/store/index.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {startChild} from './child.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('store-archive-memory')
})
afterAll(() => removeTempDir(dir))

const LAYER_BYTES = 200 * 1024 * 1024
const MiB = 1024 * 1024

describe('a 200 MiB layer', () => {
  it('exports and imports with flat memory (RSS grows by less than 60 MB)', async () => {
    const source = await OciStore.open(`${dir}/source`)
    const chunk = randomBytes(MiB)
    const layer = await source.writeBlob((async function* () {
      for (let i = 0; i < LAYER_BYTES / MiB; i++) {
        chunk[0] = i // no two chunks alike
        yield Buffer.from(chunk)
      }
    })())
    const config = await source.writeJson({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [layer.digest]}}, MediaType.OciConfig)
    const manifest = await source.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [{mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size}]}, MediaType.OciManifest)
    await source.setRef('big', manifest)

    const child = startChild(['--expose-gc'], ['memory', source.root, 'big', `${dir}/images.tar`, `${dir}/target`])
    const line = await child.waitFor('done ')
    expect(await child.exited).toBe(0)
    const report = JSON.parse(line.slice('done '.length)) as {baseline: number; peakExport: number; peak: number; exported: {bytes: number}; imported: {blobsWritten: number; images: string[]}; progressCalls: number}
    expect(report.exported.bytes).toBe((await stat(`${dir}/images.tar`)).size)
    expect(report.exported.bytes).toBeGreaterThan(LAYER_BYTES)
    expect(report.imported).toMatchObject({images: ['big'], blobsWritten: 3})
    expect(report.progressCalls).toBeGreaterThan(100)
    expect(report.peakExport - report.baseline).toBeLessThan(60 * 1000 * 1000)
    expect(report.peak - report.baseline).toBeLessThan(60 * 1000 * 1000)

    const target = await OciStore.open(`${dir}/target`)
    expect(await target.blobSize(layer.digest)).toBe(LAYER_BYTES)
    expect(await target.resolveRef('big')).toEqual(await source.resolveRef('big'))
  }, 60_000)
})
