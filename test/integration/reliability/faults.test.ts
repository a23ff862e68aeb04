import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {match, startFaultProxy, type Fault, type FaultProxy, type RequestMatcher} from '../../helpers/fault-proxy.js'
import {makeProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {checkRegistryTag, expectClearError, storeNames, verifyHome} from './support.js'

/**
 * Slipway (the built CLI) against a real registry behind the fault-injecting proxy. Each fault must end
 * in either a successful retry or one clear error line, and never leave unverified content in the store:
 * after every case `store verify` is clean, and a failed pull leaves no ref behind.
 */
let reg: TestRegistry
const proxies: FaultProxy[] = []
const homes: string[] = []
let layerDigest: string
let configDigest: string

const home = (): string => {
  const h = freshHome()
  homes.push(h)
  return h
}
const slipway = (h: string, args: string[]) => runSlipway(args, {env: {SLIPWAY_HOME: h}, timeoutMs: 60_000})
const blobOf = (digest: string): RequestMatcher => ({method: 'GET', path: new RegExp(`/blobs/${digest}$`)})

beforeAll(async () => {
  reg = await startRegistry('plain')
  await pushBaseImage(reg, 'faults/base', 'v1')
  const inspect = JSON.parse((await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/faults/base:v1`])).stdout)
  layerDigest = inspect.layers[0].digest
  configDigest = inspect.config.digest
}, 60_000)
afterAll(async () => {
  for (const p of proxies) await p.stop()
  await reg?.stop()
  for (const h of homes) await removeTempDir(h)
})

/** Each case gets its own proxy, so the cases can run at the same time. */
async function newProxy(): Promise<FaultProxy> {
  const p = await startFaultProxy({upstream: reg.url})
  proxies.push(p)
  return p
}

/** Pulls through the proxy with `fault` on requests matching `m` (`times` of them), into a fresh home. */
async function pullWith(m: RequestMatcher, fault: Fault, times?: number) {
  const h = home()
  const proxy = await newProxy()
  const rule = proxy.add(m, fault, times)
  const started = Date.now()
  const r = await slipway(h, ['image', 'pull', `${proxy.host}/faults/base:v1`, '--name', 'pulled'])
  return {h, r, rule, ms: Date.now() - started}
}

async function expectPulledAndClean(h: string): Promise<void> {
  expect(await storeNames(h)).toEqual(['pulled'])
  const v = await verifyHome(h)
  expect(v.ok).toBe(true)
  expect(v.checked).toBeGreaterThanOrEqual(3)
}

async function expectNothingStored(h: string): Promise<void> {
  expect(await storeNames(h)).toEqual([])
  expect((await verifyHome(h)).ok).toBe(true)
}

describe('pull through a misbehaving registry: the retry succeeds', () => {
  it.concurrent.each([
    ['a connection reset', match.blobGet, {kind: 'reset'} as Fault, 2],
    ['a truncated body', match.blobGet, {kind: 'truncate'} as Fault, 1],
    ['HTTP 500', match.manifestGet, {kind: 'status', status: 500} as Fault, 2],
    ['HTTP 502', match.blobGet, {kind: 'status', status: 502} as Fault, 2],
    ['HTTP 503', match.blobGet, {kind: 'status', status: 503} as Fault, 2],
    ['a stall of 1.5 s before the answer', match.manifestGet, {kind: 'stall', ms: 1500} as Fault, 1],
    ['a stall of 1.5 s mid-body', match.blobGet, {kind: 'stall', ms: 1500, afterBytes: 100} as Fault, 1],
  ])('%s', async (_what, m, fault, times) => {
    const {h, r, rule} = await pullWith(m, fault, times)
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '(success expected)')
    expect(r.code).toBe(0)
    expect(rule.hits).toBe(times)
    await expectPulledAndClean(h)
  })

  // KNOWN BUG (src/registry/verified-stream.ts): when the connection drops after the last byte, the
  // client resumes with `Range: bytes=SIZE-`, which distribution answers 416 with a body shorter than its
  // Content-Length, and the pull fails with a network error instead of verifying what it already has.
  // `failing` keeps this visible: it starts failing (flip it to `it`) once the bug is fixed.
  it('a Content-Length larger than the body (connection closed after the last byte)', async () => {
    const {h, r} = await pullWith(match.blobGet, {kind: 'lie-content-length', delta: 1000}, 1)
    expect(r.code).toBe(0)
    await expectPulledAndClean(h)
  })

  it.concurrent('429 with Retry-After: the wait the registry asked for is honoured', async () => {
    const {h, r, rule, ms} = await pullWith(match.manifestGet, {kind: 'status', status: 429, retryAfter: '2'}, 1)
    expect(r.code).toBe(0)
    expect(rule.hits).toBe(1)
    expect(ms).toBeGreaterThanOrEqual(2000)
    await expectPulledAndClean(h)
  })
})

describe('pull through a misbehaving registry: one clear error, nothing unverified stored', () => {
  it.concurrent('a layer whose bytes do not match its digest (every attempt) is an integrity error', async () => {
    const {h, r} = await pullWith(blobOf(layerDigest), {kind: 'corrupt-body', offset: 500})
    expect(expectClearError(r, 8)).toMatch(new RegExp(`${layerDigest}.*does not match|does not match.*${layerDigest}|does not match its digest`))
    await expectNothingStored(h)
  })

  it.concurrent('another blob served for a digest is an integrity error', async () => {
    const configBytes = (await fetch(`${reg.url}/v2/faults/base/blobs/${configDigest}`).then(x => x.arrayBuffer()))
    const {h, r} = await pullWith(blobOf(layerDigest), {kind: 'replace', rewrite: up => ({...up, body: Buffer.from(configBytes)})})
    expectClearError(r, 8)
    await expectNothingStored(h)
  })

  it.concurrent('a Content-Length smaller than the body on every attempt is an integrity error', async () => {
    const {h, r} = await pullWith(blobOf(layerDigest), {kind: 'lie-content-length', delta: -10})
    expect(r.code).not.toBe(0)
    expect([6, 7, 8]).toContain(r.code)
    expectClearError(r)
    await expectNothingStored(h)
  })

  it.concurrent('503 on every attempt: gives up after the retries with a registry error', async () => {
    const {h, r, rule} = await pullWith(match.blobGet, {kind: 'status', status: 503})
    expect(expectClearError(r, 7)).toContain('503')
    expect(rule.hits).toBeGreaterThanOrEqual(5)
    await expectNothingStored(h)
  })

  it.concurrent('connection resets on every attempt: a network error', async () => {
    const {h, r} = await pullWith(match.manifestGet, {kind: 'reset'})
    expectClearError(r, 6)
    await expectNothingStored(h)
  })

  it.concurrent('garbage JSON for a manifest is a registry error', async () => {
    const {h, r} = await pullWith(match.manifestGet, {kind: 'replace', rewrite: up => ({...up, headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}, body: Buffer.from('{"schemaVersion": 2, "layers": [{"digest": 12')})})
    expect(expectClearError(r, 7)).toMatch(/manifest/)
    await expectNothingStored(h)
  })

  // KNOWN BUG (src/transfer/pull.ts): a manifest document is not validated before its
  // descriptors are used; a config digest that is not a string crashes with an internal error.
  it('a manifest with the right JSON shape but nonsense fields is a clear error', async () => {
    const body = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {digest: 'sha256:nothex', size: -1}, layers: 'many'}))
    const {h, r} = await pullWith(match.manifestGet, {kind: 'replace', rewrite: up => ({...up, headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}, body})})
    expectClearError(r)
    await expectNothingStored(h)
  })

  it.concurrent('an oversized manifest (5 MiB) is refused', async () => {
    const huge = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', annotations: {pad: 'x'.repeat(5 * 1024 * 1024)}}))
    const {h, r} = await pullWith(match.manifestGet, {kind: 'replace', rewrite: up => ({...up, headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}, body: huge})})
    expect(expectClearError(r, 7)).toMatch(/larger than \d+ bytes/)
    await expectNothingStored(h)
  })
})

describe('push through a misbehaving registry', () => {
  let localHome: Promise<string> | undefined
  /** One home holding the base image as `base`, pulled straight from the registry. */
  const local = (): Promise<string> => (localHome ??= (async () => {
    const h = home()
    const r = await runSlipway(['image', 'pull', `${reg.host}/faults/base:v1`, '--name', 'base'], {env: {SLIPWAY_HOME: h}})
    if (r.code !== 0) throw new Error(r.stderr)
    return h
  })())

  it.concurrent.each([
    ['a reset upload start', match.uploadStart, {kind: 'reset'} as Fault, 1],
    ['a 500 on the upload PUT', match.uploadPut, {kind: 'status', status: 500} as Fault, 1],
    ['a 502 then a 503 on the manifest PUT', match.manifestPut, {kind: 'status', status: 502} as Fault, 1],
    ['a 429 with Retry-After: 1 on the blob HEAD', match.blobHead, {kind: 'status', status: 429, retryAfter: '1'} as Fault, 1],
    ['a stalled manifest PUT answer', match.manifestPut, {kind: 'stall', ms: 1500} as Fault, 1],
  ])('%s: the retry completes the push and the tag is whole', async (what, m, fault, times) => {
    // a repository per case, so every case uploads its blobs
    const repo = `faults/pushed-${what.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`
    const proxy = await newProxy()
    const rule = proxy.add(m, fault, times)
    const r = await slipway(await local(), ['image', 'push', 'base', `${proxy.host}/${repo}:v1`])
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : `(success expected for ${what})`)
    expect(r.code).toBe(0)
    expect(rule.hits).toBe(times)
    await checkRegistryTag(`${reg.host}/${repo}:v1`, await makeTempDir('copy'))
  })

  it.concurrent('a manifest PUT refused on every attempt: a clear error, no tag', async () => {
    const proxy = await newProxy()
    proxy.add(match.manifestPut, {kind: 'status', status: 503})
    const r = await slipway(await local(), ['image', 'push', 'base', `${proxy.host}/faults/refused:x`])
    expect(expectClearError(r, 7)).toContain('503')
    const tags = await fetch(`${reg.url}/v2/faults/refused/tags/list`)
    expect(tags.status === 404 || ((await tags.json()) as {tags: string[] | null}).tags === null).toBe(true)
    expect((await verifyHome(await local())).ok).toBe(true)
  })
})

describe('hostile listings', () => {
  let projectDir: Promise<string> | undefined
  const project = (): Promise<string> => (projectDir ??= makeProject({registryHost: reg.host, dappfile: 'from: localhost:5000/faults/base:v1\n'}).then(p => p.dir))
  // the cut-off comes after maxListPages (10,000) requests through the proxy: 109 s were seen on a loaded
  // 2-core box, against limits of 120 s; these leave room for a loaded CI runner
  it.concurrent('a listing whose next page never ends is cut off', async () => {
    const proxy = await newProxy()
    let page = 0
    proxy.add(match.tagList, {kind: 'replace', rewrite: () => ({status: 200, headers: {'content-type': 'application/json', link: `</v2/faults/base/tags/list?n=1&last=t${++page}>; rel="next"`}, body: Buffer.from(JSON.stringify({name: 'faults/base', tags: [`t${page}`]}))})})
    const r = await runSlipway(['dimg', 'stages', 'list', 'repo', `${proxy.host}/faults/base`, '--dir', await project()], {env: {SLIPWAY_HOME: home()}, timeoutMs: 360_000})
    expect(expectClearError(r, 7)).toMatch(/did not end after \d+ pages/)
  }, 400_000)

  it.concurrent('garbage JSON for a tag list is a registry error', async () => {
    const proxy = await newProxy()
    proxy.add(match.tagList, {kind: 'replace', rewrite: () => ({status: 200, headers: {'content-type': 'application/json'}, body: Buffer.from('{"tags": [1, 2')})})
    const r = await runSlipway(['dimg', 'stages', 'list', 'repo', `${proxy.host}/faults/base`, '--dir', await project()], {env: {SLIPWAY_HOME: home()}})
    expect(expectClearError(r, 7)).toMatch(/not JSON/)
  })

  it.concurrent('a tag list longer than the limit is refused with a clear error', async () => {
    const tags = Array.from({length: 1_000_001}, (_, i) => `t${i}`)
    const body = Buffer.from(JSON.stringify({name: 'faults/base', tags}))
    const proxy = await newProxy()
    proxy.add(match.tagList, {kind: 'replace', rewrite: up => ({status: 200, headers: {'content-type': 'application/json'}, body})})
    const h = home()
    const r = await runSlipway(['dimg', 'stages', 'list', 'repo', `${proxy.host}/faults/base`, '--dir', await project()], {env: {SLIPWAY_HOME: h}})
    expect(expectClearError(r, 7)).toContain('more than 1000000 entries')
  }, 60_000)
})
