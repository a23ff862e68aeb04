import {readdir, stat} from 'node:fs/promises'

import {SlipwayError} from '../../../src/errors.js'
import {MediaType} from '../../../src/oci/media-types.js'
import {OciStore} from '../../../src/store/index.js'
import {killWhen} from '../../helpers/script-child.js'
import {useTempDir} from '../../helpers/tmp.js'
import {startWriter} from './child.js'

const tmp = useTempDir('store-crash', {each: true})

describe('a writer killed mid-blob', () => {
  it('leaves no corruption, only a temp file that gc removes; writing again succeeds', async () => {
    const root = `${tmp.path}/store`
    const store = await OciStore.open(root)
    const TOTAL = 8 * 1024 * 1024
    const CHUNK = 64 * 1024
    const slow = startWriter(['slow-blob', root, String(TOTAL), String(CHUNK), '20'])
    await slow.waitFor('ready')
    const partial = await killWhen(slow, 'a partly written temp file', async () => {
      for (const name of await readdir(store.paths.tmpDir)) {
        const {size} = await stat(`${store.paths.tmpDir}/${name}`).catch(() => ({size: 0}))
        if (size >= 4 * CHUNK) return name
      }
      return undefined
    })
    expect(await slow.exited).toBe('SIGKILL')

    expect(await readdir(store.paths.algorithmDir('sha256'))).toEqual([])
    const report = await store.verify()
    expect(report.ok).toBe(true)
    expect(report.corrupt).toEqual([])
    expect(report.orphanTemp.map(t => t.name)).toEqual([partial])
    expect(report.orphanTemp[0].size).toBeLessThan(TOTAL)

    expect((await store.gc()).removedTemp).toEqual([]) // young: a default gc leaves it for now
    expect((await store.gc({tempMaxAgeMs: 0})).removedTemp).toEqual([partial])
    expect(await readdir(store.paths.tmpDir)).toEqual([])

    const rerun = startWriter(['slow-blob', root, String(TOTAL), String(CHUNK), '0'])
    const done = await rerun.waitFor('done')
    expect(await rerun.exited).toBe(0)
    const digest = done.split(' ')[1] as Parameters<OciStore['blobSize']>[0]
    expect(await store.blobSize(digest)).toBe(TOTAL)
    expect(await store.verify()).toEqual({ok: true, checked: 1, corrupt: [], missing: [], orphanTemp: []})
  }, 60_000)
})

describe('a process killed while holding the store lock', () => {
  it('blocks others while alive, and for at most the stale time once killed', async () => {
    const root = `${tmp.path}/store`
    const holder = startWriter(['hold-lock', root, '2000'])
    await holder.waitFor('ready')
    const store = await OciStore.open(root, {lock: {staleMs: 2000, timeoutMs: 3500}})
    await store.writeBlobBytes('{}')
    const manifest = await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: MediaType.OciEmpty, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2}, layers: []}, MediaType.OciManifest)

    // alive: the holder keeps its lock fresh, so it is never taken over as stale
    const blocked = await store.setRef('x', manifest).then(() => undefined, (e: unknown) => e)
    expect(blocked).toBeInstanceOf(SlipwayError)
    expect((blocked as SlipwayError).kind).toBe('conflict')

    holder.process.kill('SIGKILL')
    await holder.exited
    await stat(store.paths.lockDir) // the dead holder's lock is still there
    const patient = await OciStore.open(root, {lock: {staleMs: 2000, timeoutMs: 20_000}})
    const started = Date.now()
    await patient.setRef('x', manifest)
    expect(Date.now() - started).toBeLessThan(6000) // stale time (2 s) plus slack for a loaded machine
    expect((await store.listRefs()).map(r => r.name)).toEqual(['x'])
    await expect(stat(store.paths.lockDir)).rejects.toThrow()
  }, 30_000)
})
