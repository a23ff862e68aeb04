import {readdir, readFile} from 'node:fs/promises'

import {OciStore} from '../../../src/store/index.js'
import {useTempDir} from '../../helpers/tmp.js'
import {startWriter} from './child.js'

const tmp = useTempDir('store-concurrency', {each: true})

describe('many slipway processes on one store', () => {
  it('8 processes each writing 20 images and refs, all at once, into a store none of them created', async () => {
    const root = `${tmp.path}/store`
    const writers = Array.from({length: 8}, (_, w) => startWriter(['write', root, `w${w}`, '20']))
    const codes = await Promise.all(writers.map(w => w.exited))
    expect({codes, output: codes.some(c => c !== 0) ? writers.map(w => w.output()).join('\n') : ''}).toEqual({codes: Array(8).fill(0), output: ''})

    const store = await OciStore.open(root)
    const index = JSON.parse(await readFile(store.paths.indexFile, 'utf8')) as {manifests: unknown[]}
    expect(index.manifests).toHaveLength(160)
    const names = (await store.listRefs()).map(r => r.name)
    expect(new Set(names).size).toBe(160)
    for (let w = 0; w < 8; w++) for (let i = 0; i < 20; i++) expect(names).toContain(`w${w}:${i}`)

    const report = await store.verify()
    expect(report).toEqual({ok: true, checked: 8 * 20 * 3, corrupt: [], missing: [], orphanTemp: []})
    expect(await readdir(store.paths.tmpDir)).toEqual([])
    expect(await readdir(store.paths.leasesDir)).toEqual([])
    expect((await store.gc({blobMinAgeMs: 0})).removedBlobs).toEqual([])
  }, 60_000)
})
