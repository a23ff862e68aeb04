import {randomBytes} from 'node:crypto'

import {SlipwayError} from '../../../src/errors.js'
import {parseRepository, withTag} from '../../../src/oci/ref.js'
import {RegistryClient, RegistryError} from '../../../src/registry/index.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {type FaultProxy, match, startFaultProxy} from '../../helpers/fault-proxy.js'
import {blobOf, pushTinyImage, readAll} from './support.js'

let reg: TestRegistry
let proxy: FaultProxy
let client: RegistryClient

beforeAll(async () => {
  reg = await startRegistry('plain')
  proxy = await startFaultProxy({upstream: reg.url})
  client = new RegistryClient({env: {}, retryBaseMs: 10, monolithicUploadMax: 1024, chunkSize: 40 * 1024})
})
afterAll(async () => {
  await client?.close()
  await proxy?.stop()
  await reg?.stop()
})
beforeEach(() => { proxy.clear() })

/** What distribution answers when its storage fails, with a Retry-After that lets the client retry at once. */
const injected500 = {kind: 'status', status: 500, retryAfter: '0', body: '{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}'} as const

describe('a misbehaving registry (fault proxy in front of distribution 2.8)', () => {
  it('retries 500 answers and succeeds', async () => {
    const repo = parseRepository(`${proxy.host}/faults/retry`)
    await pushTinyImage(client, repo, 'v1')
    proxy.add(match.manifestGet, injected500, 2)
    const before = proxy.requests.length
    expect((await client.getManifest(withTag(repo, 'v1'))).mediaType).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(proxy.requests.slice(before).filter((r) => r.path.includes('/manifests/v1'))).toHaveLength(3)
  })

  it('gives up with a registry error when the failures outlast the retries', async () => {
    const repo = parseRepository(`${proxy.host}/faults/retry`)
    const impatient = new RegistryClient({env: {}, retries: 1, retryBaseMs: 5})
    proxy.add(match.tagList, injected500, 5)
    const e = await impatient.listTags(repo).catch((x: unknown) => x) as RegistryError
    await impatient.close()
    expect(e).toBeInstanceOf(RegistryError)
    expect(e.status).toBe(500)
    expect(e.temporary).toBe(true)
    expect(e.message).toBe(`${proxy.host} failed with HTTP 500 on GET tags of faults/retry: UNKNOWN: injected failure`)
  })

  it('fails a blob whose content was altered on the way with an integrity error', async () => {
    const repo = parseRepository(`${proxy.host}/faults/corrupt`)
    const blob = blobOf(randomBytes(2000))
    await client.pushBlob(repo, blob, blob.open)
    proxy.add(match.blobGet, {kind: 'corrupt-body'})
    const stream = await client.getBlob(repo, blob.digest, {size: blob.size})
    await expect(readAll(stream)).rejects.toMatchObject({kind: 'integrity', message: expect.stringContaining('does not match its digest')})
  })

  it('resumes a blob download cut mid-body with a Range request', async () => {
    const repo = parseRepository(`${proxy.host}/faults/resume`)
    const data = randomBytes(300 * 1024)
    const blob = blobOf(data)
    await client.pushBlob(repo, blob, blob.open)
    // Chunked upload: several PATCH requests went through.
    expect(proxy.count({method: 'PATCH', path: /^\/v2\/faults\/resume\//})).toBe(Math.ceil(data.length / (40 * 1024)))
    proxy.add((req) => req.method === 'GET' && /\/blobs\/sha256:/.test(req.path) && req.headers.range === undefined, {kind: 'truncate', afterBytes: 100_000}, 1)
    const before = proxy.requests.length
    const got = await readAll(await client.getBlob(repo, blob.digest, {size: blob.size}))
    expect(got.equals(data)).toBe(true)
    const ranges = proxy.requests.slice(before).flatMap((r) => r.headers.range ?? [])
    expect(ranges).toHaveLength(1)
    expect(Number(/bytes=(\d+)-/.exec(ranges[0])![1])).toBeGreaterThanOrEqual(100_000 - 20_000)
  })

  it('reports an unknown host without retrying', async () => {
    // every attempt is a line of the debug log: one attempt, not a retry with backoff
    const attempts: string[] = []
    const logged = new RegistryClient({env: {SLIPWAY_DEBUG: '1'}, retryBaseMs: 10, debugLog: (line) => attempts.push(line)})
    const e = await logged.ping('nonexistent.invalid:5000').catch((x: unknown) => x) as SlipwayError
    await logged.close()
    expect(e).toBeInstanceOf(SlipwayError)
    expect(e.kind).toBe('network')
    expect(e.message).toBe('cannot resolve registry host nonexistent.invalid:5000')
    expect(attempts).toEqual([expect.stringMatching(/^slipway registry: GET https:\/\/nonexistent\.invalid:5000\/v2\/ failed after \d+ ms: /)])
  })

  it('reports a closed loopback port as refused', async () => {
    const e = await client.ping('127.0.0.1:1').catch((x: unknown) => x) as SlipwayError
    expect(e.kind).toBe('network')
    expect(e.message).toBe('connection to 127.0.0.1:1 refused')
  })
})
