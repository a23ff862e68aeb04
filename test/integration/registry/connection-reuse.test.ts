import {randomBytes} from 'node:crypto'
import {subscribe, unsubscribe} from 'node:diagnostics_channel'

import {parseRepository, withTag} from '../../../src/oci/ref.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {startRegistry, type TestRegistry, type RegistryVariant} from '../../helpers/registry.js'
import {blobOf, pushTinyImage} from './support.js'

/** Connections undici opens (TCP, or TCP+TLS) while `work` runs. */
async function connectionsDuring(work: () => Promise<unknown>): Promise<number> {
  let opened = 0
  const onConnected = (): void => { opened++ }
  subscribe('undici:client:connected', onConnected)
  try {
    await work()
  } finally {
    unsubscribe('undici:client:connected', onConnected)
  }
  return opened
}

describe.each<RegistryVariant>(['plain', 'tls-basic'])('connection reuse (%s registry)', variant => {
  let reg: TestRegistry
  let client: RegistryClient
  const jobs = 3
  beforeAll(async () => {
    reg = await startRegistry(variant)
    const env: Record<string, string> = reg.caFile ? {SLIPWAY_CA_FILE: reg.caFile} : {}
    client = new RegistryClient({env, jobs, ...(reg.username ? {credentials: {username: reg.username, password: reg.password!, registry: reg.host}} : {})})
    await client.ping(reg.host)
  })
  afterAll(async () => {
    await client?.close()
    await reg?.stop()
  })

  it('keeps at most `jobs` connections through chains of requests and bursts of HEAD checks', async () => {
    const repo = parseRepository(`${reg.host}/reuse/app`)
    const blobs = Array.from({length: 12}, () => blobOf(randomBytes(500)))
    let requests = 0
    const opened = await connectionsDuring(async () => {
      // each pushBlob is a chain: HEAD, POST, PUT
      await Promise.all(blobs.map(b => client.pushBlob(repo, b, b.open)))
      requests += blobs.length * 3
      for (let round = 0; round < 3; round++) {
        await Promise.all(blobs.map(b => client.headBlob(repo, b.digest)))
        requests += blobs.length
      }
      for (let i = 0; i < 3; i++) await pushTinyImage(client, repo, `t${i}`)
      await Promise.all([0, 1, 2].map(i => client.headManifest(withTag(repo, `t${i}`))))
    })
    expect(requests).toBeGreaterThan(70)
    // undici closed the connection after every HEAD, and opened one per request of a chain: dozens
    expect(opened).toBeLessThanOrEqual(jobs)
  })
})
