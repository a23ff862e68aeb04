import {mkdir, readFile, writeFile} from 'node:fs/promises'

import {SlipwayError} from '../../../src/errors.js'
import {MediaType} from '../../../src/oci/media-types.js'
import type {Descriptor} from '../../../src/oci/types.js'
import {OciStore, REF_NAME_ANNOTATION} from '../../../src/store/index.js'
import {useTempDir} from '../../helpers/tmp.js'

const tmp = useTempDir('store-refs', {each: true})

/** A manifest with the empty config (written too: the store records only names whose blobs are all there). */
async function manifestIn(store: OciStore, n: number): Promise<Descriptor> {
  await store.writeBlobBytes('{}')
  return store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: MediaType.OciEmpty, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2}, layers: [], annotations: {n: String(n)}}, MediaType.OciManifest)
}

describe('opening a store', () => {
  it('creates an OCI layout in a missing directory', async () => {
    const store = await OciStore.open(`${tmp.path}/a/b/store`)
    expect(JSON.parse(await readFile(`${tmp.path}/a/b/store/oci-layout`, 'utf8'))).toEqual({imageLayoutVersion: '1.0.0'})
    expect(JSON.parse(await readFile(`${tmp.path}/a/b/store/index.json`, 'utf8'))).toEqual({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []})
    expect(await store.listRefs()).toEqual([])
  })

  it('lets many openers race on a fresh directory without clobbering a ref', async () => {
    const first = await Promise.all(Array.from({length: 5}, () => OciStore.open(`${tmp.path}/s`)))
    await first[0].setRef('kept', await manifestIn(first[0], 1))
    await Promise.all(Array.from({length: 5}, () => OciStore.open(`${tmp.path}/s`)))
    expect((await first[3].listRefs()).map(e => e.name)).toEqual(['kept'])
  })

  it('says clearly when the store cannot be created', async () => {
    await writeFile(`${tmp.path}/file`, 'x')
    const err = await OciStore.open(`${tmp.path}/file/store`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect((err as SlipwayError).kind).toBe('environment')
    expect((err as SlipwayError).message).toContain(`${tmp.path}/file/store`)
  })

  it('refuses a directory that holds something else', async () => {
    await mkdir(`${tmp.path}/home`)
    await writeFile(`${tmp.path}/home/notes.txt`, 'mine')
    await expect(OciStore.open(`${tmp.path}/home`)).rejects.toThrow(/is not an OCI image layout/)
    await writeFile(`${tmp.path}/home/oci-layout`, '{"imageLayoutVersion":"9"}')
    await expect(OciStore.open(`${tmp.path}/home`)).rejects.toBeInstanceOf(SlipwayError)
  })
})

describe('updateIndex', () => {
  it('writes an index the callback changed in place, and refuses to write an invalid one', async () => {
    const store = await OciStore.open(`${tmp.path}/s`)
    const m = await manifestIn(store, 1)
    const after = await store.updateIndex(index => {
      index.manifests.push(m)
      return index
    })
    expect(after.manifests).toEqual([m])
    expect((await store.readIndex()).manifests).toEqual([m])
    const broken = {mediaType: 'x', digest: 'sha256:short', size: 1} as unknown as Descriptor
    await expect(store.updateIndex(index => ({...index, manifests: [broken]}))).rejects.toThrow(/not a valid descriptor/)
    expect((await store.readIndex()).manifests).toEqual([m])
  })
})

describe('refs', () => {
  it('sets, replaces, resolves, lists and removes names', async () => {
    const store = await OciStore.open(`${tmp.path}/s`)
    const [m1, m2, m3] = [await manifestIn(store, 1), await manifestIn(store, 2), await manifestIn(store, 3)]
    const sig = 'ab'.repeat(32)
    await store.setRef(`dimgstage-proj:${sig}`, m1, {'slipway.stage': 'from'})
    await store.setRefs([{name: 'localhost:5000/app/backend:latest', descriptor: m2}, {name: 'other', descriptor: m3}])
    await store.setRef(`dimgstage-proj:${sig}`, m3)

    const index = JSON.parse(await readFile(`${tmp.path}/s/index.json`, 'utf8'))
    expect(index.manifests).toHaveLength(3)
    expect(await store.resolveRef(`dimgstage-proj:${sig}`)).toEqual({...m3, annotations: {[REF_NAME_ANNOTATION]: `dimgstage-proj:${sig}`}})
    expect(await store.resolveRef('nope')).toBeUndefined()
    expect((await store.listRefs()).map(e => e.name)).toEqual([`dimgstage-proj:${sig}`, 'localhost:5000/app/backend:latest', 'other'])

    expect((await store.removeRefs(['other', 'absent'])).map(e => e.name)).toEqual(['other'])
    expect((await store.removeRefs(e => e.name.startsWith('dimgstage-'))).map(e => e.descriptor.digest)).toEqual([m3.digest])
    expect((await store.listRefs()).map(e => e.name)).toEqual(['localhost:5000/app/backend:latest'])
  })

  it('serializes concurrent updates from one process', async () => {
    const store = await OciStore.open(`${tmp.path}/s`)
    const m = await manifestIn(store, 1)
    await Promise.all(Array.from({length: 30}, (_, i) => store.setRef(`n${i}`, m)))
    expect((await store.listRefs())).toHaveLength(30)
  })

  it('leaves index.json untouched when an update throws', async () => {
    const store = await OciStore.open(`${tmp.path}/s`)
    await store.setRef('a', await manifestIn(store, 1))
    const before = await readFile(`${tmp.path}/s/index.json`, 'utf8')
    await expect(store.updateIndex(() => { throw new Error('boom') })).rejects.toThrow('boom')
    expect(await readFile(`${tmp.path}/s/index.json`, 'utf8')).toBe(before)
    await store.setRef('b', await manifestIn(store, 2)) // the lock was released
    expect((await store.listRefs()).map(e => e.name)).toEqual(['a', 'b'])
  })
})
