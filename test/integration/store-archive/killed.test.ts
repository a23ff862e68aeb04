import {randomBytes} from 'node:crypto'
import {readdir, stat} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'

import {MediaType} from '../../../src/oci/media-types.js'
import type {Descriptor} from '../../../src/oci/types.js'
import {exportArchive, importArchive, OciStore} from '../../../src/store/index.js'
import {killWhen} from '../../helpers/script-child.js'
import {useTempDir} from '../../helpers/tmp.js'
import {startChild} from './child.js'
import {blobFiles, indexText, makeImages, NAME_A, NAME_B, NAME_C} from './support.js'

const tmp = useTempDir('store-archive-killed', {each: true})

const BIG = 'dimgstage-proj:big'

/** The fixture images plus one with four 2 MiB layers, so a slow import has a while to be killed in. */
async function sourceStore(): Promise<OciStore> {
  const store = await OciStore.open(`${tmp.path}/source`)
  await makeImages(store)
  const layers: Descriptor[] = []
  for (let i = 0; i < 4; i++) {
    const {digest, size} = await store.writeBlobBytes(randomBytes(2 * 1024 * 1024))
    layers.push({mediaType: MediaType.OciLayerGzip, digest, size})
  }
  const config = await store.writeJson({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: layers.map(l => l.digest)}}, MediaType.OciConfig)
  await store.setRef(BIG, await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers}, MediaType.OciManifest))
  return store
}

describe('an import killed midway', () => {
  it('changes no name; run again, it skips what was stored and completes, and verify is clean', async () => {
    const source = await sourceStore()
    const names = [NAME_A, BIG, NAME_B, NAME_C]
    await exportArchive(source, names, `${tmp.path}/images.tar`)
    const target = await OciStore.open(`${tmp.path}/target`)
    const indexBefore = await indexText(target)

    const child = startChild([], ['import', target.root, `${tmp.path}/images.tar`, '10'])
    await child.waitFor('ready')
    // kill once some blobs are in place and a big one is half written
    const midBlob = async (): Promise<true | undefined> => {
      if ((await readdir(target.paths.algorithmDir('sha256'))).length < 2) return undefined
      for (const name of await readdir(target.paths.tmpDir)) {
        if (((await stat(`${target.paths.tmpDir}/${name}`).catch(() => undefined))?.size ?? 0) >= 256 * 1024) return true
      }
      return undefined
    }
    await killWhen(child, 'some blobs stored and a big one half written', midBlob)
    expect(await child.exited).toBe('SIGKILL')

    const stored = (await readdir(target.paths.algorithmDir('sha256'))).length
    const expected = (await blobFiles(source)).size - 3 // `other` (manifest, config, layer) is not in the archive
    expect(stored).toBeLessThan(expected)
    expect(await indexText(target)).toBe(indexBefore)
    const afterKill = await target.verify()
    expect(afterKill.ok).toBe(true)
    expect(afterKill.orphanTemp.length).toBe(1) // the blob it was writing when killed

    const result = await importArchive(target, `${tmp.path}/images.tar`)
    expect(result.images).toEqual(names)
    expect(result.blobsSkipped).toBe(stored)
    expect(result.blobsWritten).toBe(expected - stored)
    expect(await target.listRefs()).toEqual((await source.listRefs()).filter(r => r.name !== 'other').sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name)))

    const gc = await target.gc({tempMaxAgeMs: 0})
    expect(gc.removedBlobs).toEqual([])
    expect(await target.verify()).toEqual({ok: true, checked: expected, corrupt: [], missing: [], orphanTemp: []})
    expect(await readdir(target.paths.leasesDir)).toEqual([]) // the dead child's lease went with gc
  }, 60_000)
})

describe('a gc during an import', () => {
  it('keeps every blob the import stored, however old, and the import completes', async () => {
    const source = await sourceStore()
    const names = [NAME_A, BIG, NAME_B, NAME_C]
    await exportArchive(source, names, `${tmp.path}/images.tar`)
    const target = await OciStore.open(`${tmp.path}/target`)

    const child = startChild([], ['import', target.root, `${tmp.path}/images.tar`, '20'])
    await child.waitFor('ready')
    let running = true
    const finished = child.waitFor('done ').finally(() => {
      running = false
    })
    let removed = 0
    let runs = 0
    while (running) {
      removed += (await target.gc({blobMinAgeMs: 300})).removedBlobs.length
      runs++
      await sleep(50)
    }
    const result = JSON.parse((await finished).slice('done '.length)) as {images: string[]}
    expect(await child.exited).toBe(0)
    expect(runs).toBeGreaterThan(10)
    expect(removed).toBe(0)
    expect(result.images).toEqual(names)
    expect((await target.verify()).ok).toBe(true)
  }, 60_000)
})
