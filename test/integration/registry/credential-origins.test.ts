import {randomBytes} from 'node:crypto'

import {SlipwayError} from '../../../src/errors.js'
import {parseRepository, type Repository} from '../../../src/oci/ref.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {match, startFaultProxy, type FaultProxy} from '../../helpers/fault-proxy.js'
import {useRegistry} from '../../helpers/registry.js'
import {blobOf, pushTinyImage} from './support.js'

/**
 * Credentials go only to the origin they are for. A proxy in front of a real htpasswd registry hands out
 * tag-list `Link` next pages, upload `Location`s and 401 challenges that point at "another host": a second
 * proxy on 127.0.0.2 that authenticates to the registry on its own (like a pre-signed URL) and logs every
 * header slipway sent it. Like go-containerregistry and distribution's client, slipway follows such links
 * without credentials rather than refusing them.
 */
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`

describe('credentials stay on the registry origin (tls-basic registry)', () => {
  const setup = useRegistry({variant: 'tls-basic'})
  let proxy: FaultProxy
  let other: FaultProxy
  let client: RegistryClient
  let repo: Repository
  const tags = ['t1', 't2', 't3', 't4', 't5', 't6', 't7']

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile})
    other = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile, listenAddress: '127.0.0.2', upstreamAuthorization: basic(setup.reg.username!, setup.reg.password!)})
    client = new RegistryClient({env: {}, retries: 0, credentials: {username: setup.reg.username!, password: setup.reg.password!, registry: proxy.host}})
    repo = parseRepository(`${proxy.host}/pages/app`)
    for (const tag of tags) await pushTinyImage(client, repo, tag, 'same')
  }, 60_000)
  afterEach(() => {
    proxy.clear()
    other.clear()
  })
  afterAll(async () => {
    await client?.close()
    await other?.stop()
    await proxy?.stop()
  })

  const otherSawCredentials = (since = 0) => other.requests.slice(since).filter(r => r.headers.authorization !== undefined || r.headers.cookie !== undefined)

  /**
   * Distribution 2.8 lists every tag at once: the proxies cut its real list into pages of two (by the
   * request's `last`), the next link going to `nextBase` ('' for a relative link).
   */
  const paginate = (p: FaultProxy, nextBase: (page: number) => string) => {
    let page = 0
    return p.add(match.tagList, {
      kind: 'replace',
      rewrite: (up, req) => {
        const all = (JSON.parse(up.body.toString()) as {tags: string[]}).tags.sort()
        const last = new URL(req.path, 'http://x').searchParams.get('last')
        const rest = last === null ? all : all.filter(t => t > last)
        const shown = rest.slice(0, 2)
        const headers = {...up.headers}
        if (rest.length > 2) headers.link = `<${nextBase(page++)}/v2/pages/app/tags/list?n=2&last=${shown[1]}>; rel="next"`
        return {status: 200, headers, body: Buffer.from(JSON.stringify({name: 'pages/app', tags: shown}))}
      },
    })
  }

  it('follows same-origin (relative) Link pages with credentials: 4 pages of 2', async () => {
    paginate(proxy, () => '')
    const before = proxy.count(match.tagList)
    expect(await client.listTags(repo)).toEqual(tags)
    const pages = proxy.requests.filter(r => r.method === 'GET' && /\/tags\/list/.test(r.path)).slice(before)
    expect(pages).toHaveLength(4)
    expect(pages.every(r => r.headers.authorization === basic(setup.reg.username!, setup.reg.password!))).toBe(true)
  })

  it('follows a Link next page on another origin without sending it the credentials', async () => {
    // page 1 on the registry links to the other host; the other host's next links are relative to it
    paginate(proxy, () => `http://${other.host}`)
    paginate(other, () => '')
    const before = other.requests.length
    expect(await client.listTags(repo)).toEqual(tags)
    expect(other.requests.slice(before).map(r => r.path)).toEqual(['t2', 't4', 't6'].map(t => `/v2/pages/app/tags/list?n=2&last=${t}`))
    expect(otherSawCredentials(before)).toEqual([])
  })

  it('uploads to a Location on another origin without credentials, monolithic and chunked', async () => {
    proxy.add(match.uploadStart, {
      kind: 'replace',
      rewrite: up => ({...up, headers: {...up.headers, location: String(up.headers.location).replace(proxy.host, other.host)}}),
    })
    const before = other.requests.length
    const one = blobOf(randomBytes(300))
    expect(await client.pushBlob(repo, one, one.open)).toBe('uploaded')
    const chunked = new RegistryClient({env: {}, retries: 0, monolithicUploadMax: 100, chunkSize: 128, credentials: {username: setup.reg.username!, password: setup.reg.password!, registry: proxy.host}})
    try {
      const two = blobOf(randomBytes(300))
      expect(await chunked.pushBlob(repo, two, two.open)).toBe('uploaded')
      expect(await client.headBlob(repo, two.digest)).toEqual({size: 300})
    } finally {
      await chunked.close()
    }
    expect(await client.headBlob(repo, one.digest)).toEqual({size: 300})
    const uploads = other.requests.slice(before).map(r => r.method)
    expect(uploads).toEqual(['PUT', 'PATCH', 'PATCH', 'PATCH', 'PUT'])
    expect(otherSawCredentials(before)).toEqual([])
  })

  it("never learns another origin's challenge: a 401 there with a hostile realm gets no credentials, now or later", async () => {
    paginate(proxy, () => `http://${other.host}`)
    other.add(match.any, {
      kind: 'replace',
      rewrite: () => ({status: 401, headers: {'www-authenticate': `Bearer realm="http://${other.host}/token",service="x"`, 'content-type': 'application/json'}, body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}')}),
    })
    const before = other.requests.length
    const e = await client.listTags(repo).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(SlipwayError)
    // the registry itself is still asked with its own basic challenge
    expect(await client.headBlob(repo, blobOf(Buffer.from('nothing')).digest)).toBeUndefined()
    expect(other.requests.slice(before).map(r => r.path)).toEqual([expect.stringMatching(/tags\/list/)])
    expect(otherSawCredentials(before)).toEqual([])
  })
})

describe('token realms', () => {
  const setup = useRegistry({variant: 'token'})
  let proxy: FaultProxy
  let other: FaultProxy

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile})
    other = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile, listenAddress: '127.0.0.2'})
  }, 60_000)
  afterEach(() => proxy.clear())
  afterAll(async () => {
    await other?.stop()
    await proxy?.stop()
  })

  const withRealm = (realm: string) => proxy.add(r => r.path.startsWith('/v2/'), {
    kind: 'replace',
    rewrite: up => up.status !== 401 ? up : {...up, headers: {...up.headers, 'www-authenticate': `Bearer realm="${realm}",service="${setup.reg.tokenIssuer!.service}"`}},
  })

  const listWith = async (): Promise<unknown> => {
    const client = new RegistryClient({env: {SLIPWAY_CA_FILE: setup.reg.caFile!}, retries: 0, credentials: {username: setup.reg.username!, password: setup.reg.password!, registry: proxy.host}})
    try {
      return await client.listTags(parseRepository(`${proxy.host}/realm/app`)).catch((e: unknown) => e)
    } finally {
      await client.close()
    }
  }

  it.each([
    ['a plain-http realm on a non-loopback name', 'http://token.example.test/token'],
    ['a file: realm', 'file:///etc/passwd'],
    ['an ftp: realm', 'ftp://127.0.0.2/token'],
    ['a data: realm', 'data:text/plain;base64,eyJ0b2tlbiI6IngifQ=='],
  ])('refuses %s before any request, naming the realm', async (_what, realm) => {
    withRealm(realm)
    const issued = setup.reg.tokenIssuer!.requestCount
    const e = await listWith()
    expect(e).toBeInstanceOf(SlipwayError)
    const err = e as SlipwayError
    expect(err.kind).toBe('auth')
    expect(err.userLine).toContain(`token realm ${realm}`)
    expect(err.userLine).not.toContain(setup.reg.password!)
    expect(setup.reg.tokenIssuer!.requestCount).toBe(issued)
    expect(other.requests).toEqual([])
  })

  it('accepts an https realm and a loopback http one (the real issuer, then through the other host)', async () => {
    expect(await listWith()).toEqual([])
    // a plain-http realm on a loopback address: allowed, and it does get the credentials (it is this machine)
    withRealm(`http://${other.host}/token`)
    await listWith()
    expect(other.requests.some(r => r.path.startsWith('/token') && r.headers.authorization === basic(setup.reg.username!, setup.reg.password!))).toBe(true)
  })
})
