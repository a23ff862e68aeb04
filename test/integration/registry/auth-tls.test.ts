import {randomBytes} from 'node:crypto'

import {parseRepository, withTag} from '../../../src/oci/ref.js'
import {SlipwayError} from '../../../src/errors.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {blobOf, pushTinyImage, readAll} from './support.js'

describe('TLS and basic auth (tls-basic registry)', () => {
  let reg: TestRegistry
  beforeAll(async () => { reg = await startRegistry('tls-basic') })
  afterAll(async () => { await reg?.stop() })

  it('rejects an untrusted certificate with a clear line, and works with SLIPWAY_CA_FILE', async () => {
    const untrusted = new RegistryClient({env: {}, credentials: {username: reg.username!, password: reg.password!, registry: reg.host}})
    const e = await untrusted.ping(reg.host).catch((x: unknown) => x)
    await untrusted.close()
    expect(e).toBeInstanceOf(SlipwayError)
    expect((e as SlipwayError).kind).toBe('network')
    expect((e as SlipwayError).userLine).toMatch(new RegExp(`^TLS certificate of ${reg.host} is not trusted: signed by an unknown authority .*CAs tried: system roots.*, or pass --insecure-registry ${reg.host}$`))

    const client = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {username: reg.username!, password: reg.password!, registry: reg.host}})
    expect(await client.ping(reg.host)).toEqual({url: `https://${reg.host}/`, auth: 'basic'})
    const repo = parseRepository(`${reg.host}/tls/app`)
    const data = randomBytes(3000)
    const blob = blobOf(data)
    expect(await client.pushBlob(repo, blob, blob.open)).toBe('uploaded')
    expect((await readAll(await client.getBlob(repo, blob.digest))).equals(data)).toBe(true)
    await client.close()
  })

  it('reports a wrong password as an auth error without the secret, and missing credentials too', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`
    const client = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {username: reg.username!, password: wrong, registry: reg.host}})
    const e = await client.listTags(parseRepository(`${reg.host}/tls/app`)).catch((x: unknown) => x) as SlipwayError
    await client.close()
    expect(e.kind).toBe('auth')
    expect(e.userLine).toBe(`authentication to ${reg.host} failed for tags of tls/app with the credentials from the --registry-username/--registry-password flags: check --registry-username/--registry-password`)
    expect(e.userLine).not.toContain(wrong)

    const anonymous = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!, DOCKER_CONFIG: '/nonexistent'}})
    await expect(anonymous.ping(reg.host)).rejects.toMatchObject({kind: 'auth', message: expect.stringContaining('no credentials were found')})
    await anonymous.close()
  })

  it('writes a debug log of requests with no secret in it', async () => {
    const lines: string[] = []
    const client = new RegistryClient({
      env: {SLIPWAY_CA_FILE: reg.caFile!, SLIPWAY_DEBUG: '1'}, credentials: {username: reg.username!, password: reg.password!, registry: reg.host},
      debugLog: (line) => lines.push(line),
    })
    await pushTinyImage(client, parseRepository(`${reg.host}/debug/app`), 'v1')
    await client.close()
    const log = lines.join('\n')
    expect(log).toMatch(/PUT https:\/\/127\.0\.0\.1:\d+\/v2\/debug\/app\/manifests\/v1 → 201/)
    expect(log).toContain('[authorization: Basic ***]')
    expect(log).not.toContain(reg.password!)
    expect(log).not.toContain(Buffer.from(`${reg.username}:${reg.password}`).toString('base64'))
  })
})

describe('bearer tokens (token registry)', () => {
  let reg: TestRegistry
  beforeAll(async () => { reg = await startRegistry('token', {tokenTtlSeconds: 2}) })
  afterAll(async () => { await reg?.stop() })

  it('caches tokens per scope across many requests and renews them after the TTL', async () => {
    const newClient = () => new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {username: reg.username!, password: reg.password!, registry: reg.host}})
    const issuer = reg.tokenIssuer!
    const repo = parseRepository(`${reg.host}/token/app`)
    // tokens that outlive the requests, however slow the machine: a renewal here would be one more fetch
    issuer.ttlSeconds = 300
    const client = newClient()
    const before = issuer.requestCount
    const {digest} = await pushTinyImage(client, repo, 'v1')
    for (let i = 0; i < 20; i++) expect((await client.headManifest(withTag(repo, 'v1')))?.digest).toBe(digest)
    await client.listTags(repo)
    const used = issuer.requestCount - before
    // One token for pull,push and one for pull: not one per request.
    expect(used).toBeLessThanOrEqual(3)
    expect(client.tokenFetches).toBe(used)
    await client.close()

    // a 2 s token (renewed at 90% of it) is fetched again by the first request after those 2 s
    issuer.ttlSeconds = 2
    const renewing = newClient()
    try {
      await renewing.headManifest(withTag(repo, 'v1'))
      expect(renewing.tokenFetches).toBe(1)
      await new Promise((r) => setTimeout(r, 2100))
      await renewing.headManifest(withTag(repo, 'v1'))
      expect(renewing.tokenFetches).toBe(2)
      expect(issuer.requestCount - before).toBe(used + 2)
    } finally {
      await renewing.close()
    }
  })

  it('is denied pushes with a pull-only account, and refused with a wrong password', async () => {
    const reader = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {...reg.readonlyUser!, registry: reg.host}})
    const blob = blobOf(randomBytes(10))
    await expect(reader.pushBlob(parseRepository(`${reg.host}/token/ro`), blob, blob.open)).rejects.toMatchObject({kind: 'auth'})
    await reader.close()

    const wrong = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {username: reg.username!, password: 'not-the-password', registry: reg.host}})
    const e = await wrong.listTags(parseRepository(`${reg.host}/token/app`)).catch((x: unknown) => x) as SlipwayError
    await wrong.close()
    expect(e.kind).toBe('auth')
    expect(e.userLine).not.toContain('not-the-password')
  })

  it('deletes a tag with a delete-scoped token', async () => {
    const client = new RegistryClient({env: {SLIPWAY_CA_FILE: reg.caFile!}, credentials: {username: reg.username!, password: reg.password!, registry: reg.host}})
    const repo = parseRepository(`${reg.host}/token/del`)
    await pushTinyImage(client, repo, 'a')
    expect(await client.deleteTag(repo, 'a')).toBe('deleted-manifest')
    expect(await client.listTags(repo)).toEqual([])
    await client.close()
  })
})
