import {randomBytes} from 'node:crypto'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import type {TLSSocket} from 'node:tls'

import {SlipwayError} from '../../../src/errors.js'
import {sha256Digest} from '../../../src/oci/digest.js'
import {parseRepository, withTag} from '../../../src/oci/ref.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {nonLoopbackAddress, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeClientCertificate, makeTestCertificates} from '../../helpers/tls.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {pushTinyImage, readAll} from './support.js'

let scratch: string
beforeAll(async () => { scratch = await makeTempDir('tls-trust') })
afterAll(async () => { await removeTempDir(scratch) })

let dirs = 0
/** A fresh certs.d root holding `files` (name → source file) under `host`. */
async function certsD(host?: string, files: Record<string, string> = {}): Promise<string> {
  const root = join(scratch, `certs.d-${dirs++}`)
  await mkdir(root)
  if (host !== undefined) {
    await mkdir(join(root, host))
    for (const [name, from] of Object.entries(files)) await copyFile(from, join(root, host, name))
  }
  return root
}

async function failure(client: RegistryClient, registry: string): Promise<SlipwayError> {
  const e = await client.ping(registry).catch((x: unknown) => x)
  await client.close()
  expect(e).toBeInstanceOf(SlipwayError)
  return e as SlipwayError
}

/** Pushes an image and reads it back: the whole request chain (HEAD, POST, PUT, GET) over this client's TLS. */
async function roundTrip(client: RegistryClient, registry: string): Promise<void> {
  const repo = parseRepository(`${registry}/tls/app`)
  const {digest} = await pushTinyImage(client, repo, 'v1')
  expect((await client.headManifest(withTag(repo, 'v1')))?.digest).toBe(digest)
  await client.close()
}

describe('a registry whose CA is only in a certs.d directory', () => {
  let reg: TestRegistry
  let other: TestRegistry
  beforeAll(async () => { [reg, other] = await Promise.all([startRegistry('tls'), startRegistry('tls')]) })
  afterAll(async () => { await Promise.all([reg?.stop(), other?.stop()]) })

  it('is pushed to and pulled from with certs.d/HOST:PORT/ca.crt', async () => {
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!})
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
  })

  it('without it fails in one line naming the CAs tried, where it looked and the fix', async () => {
    const root = await certsD()
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.kind).toBe('network')
    expect(e.userLine).toBe(`TLS certificate of ${reg.host} is not trusted: signed by an unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE; `
      + `CAs tried: system roots; no certs.d directory (looked in ${root}/${reg.host})): `
      + `put the CA certificate that signed it in ${root}/${reg.host}/ca.crt, or pass --insecure-registry ${reg.host}`)
  })

  it('trusts a certs.d CA for its own host only', async () => {
    // the other registry's CA sits in this registry's directory: the other registry stays untrusted
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!, 'other.crt': other.caFile!})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), other.host)
    expect(e.userLine).toContain(`TLS certificate of ${other.host} is not trusted: signed by an unknown authority`)
    const client = new RegistryClient({env: {SLIPWAY_CERTS_D: root}})
    expect(await client.ping(other.host).catch(() => 'refused')).toBe('refused')
    expect(await client.ping(reg.host)).toEqual({url: `https://${reg.host}/`, auth: 'none'})
    await client.close()
  })

  it('takes the first root holding the host, as containers/image does', async () => {
    const empty = await certsD(reg.host)
    const withCa = await certsD(reg.host, {'ca.crt': reg.caFile!})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: `${empty}:${withCa}`}}), reg.host)
    expect(e.userLine).toContain(`CAs tried: system roots): put the CA certificate that signed it in ${empty}/${reg.host}/ca.crt`)
  })

  it('works with SSL_CERT_FILE, which replaces the system roots, and says so when it does not hold the CA', async () => {
    const root = await certsD()
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SSL_CERT_FILE: reg.caFile!}}), reg.host)
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SSL_CERT_FILE: other.caFile!}}), reg.host)
    expect(e.userLine).toContain(`(UNABLE_TO_VERIFY_LEAF_SIGNATURE; CAs tried: SSL_CERT_FILE=${other.caFile}; no certs.d directory`)
  })

  it('works with SSL_CERT_DIR, a colon list of directories of PEM files', async () => {
    const root = await certsD()
    const a = join(scratch, 'ssl-dir-a')
    const b = join(scratch, 'ssl-dir-b')
    await mkdir(a)
    await mkdir(b)
    await copyFile(other.caFile!, join(a, 'other.pem'))
    await copyFile(reg.caFile!, join(b, 'registry.pem'))
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SSL_CERT_DIR: `${a}:${b}`}}), reg.host)
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SSL_CERT_DIR: a}}), reg.host)
    expect(e.userLine).toContain(`CAs tried: SSL_CERT_DIR=${a}; no certs.d directory`)
  })

  it('adds SLIPWAY_CA_FILE to the roots, named among the CAs tried', async () => {
    const root = await certsD()
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SLIPWAY_CA_FILE: reg.caFile!}}), reg.host)
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root, SLIPWAY_CA_FILE: other.caFile!}}), reg.host)
    expect(e.userLine).toContain(`CAs tried: system roots, SLIPWAY_CA_FILE=${other.caFile}; no certs.d`)
  })
})

const address = nonLoopbackAddress()
;(address ? describe : describe.skip)(`a registry reached by a name its certificate does not have (${address})`, () => {
  let reg: TestRegistry
  beforeAll(async () => { reg = await startRegistry('tls', {address}) })
  afterAll(async () => { await reg?.stop() })

  it('fails as a hostname mismatch even with its CA in certs.d, and --insecure-registry gets past it', async () => {
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.userLine).toBe(`TLS certificate of ${reg.host} is not trusted: issued for another name (hostname mismatch) (ERR_TLS_CERT_ALTNAME_INVALID; `
      + `CAs tried: system roots, ${root}/${reg.host}/ca.crt): have the registry's certificate fixed, or pass --insecure-registry ${reg.host}`)
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root}, insecureRegistries: [address!]}), reg.host)
  })
})

describe('a registry that requires client certificates (mTLS)', () => {
  let reg: TestRegistry
  beforeAll(async () => { reg = await startRegistry('tls-client-cert') })
  afterAll(async () => { await reg?.stop() })

  it('works with client.cert and client.key in certs.d/HOST:PORT', async () => {
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!, 'client.cert': reg.clientCert!.certFile, 'client.key': reg.clientCert!.keyFile})
    await roundTrip(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
  })

  it('is refused without them, in one line saying a client certificate was asked for', async () => {
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!})
    const dir = `${root}/${reg.host}`
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.kind).toBe('network')
    expect(e.userLine).toMatch(new RegExp(`^${reg.host} asked for a TLS client certificate and none is configured \\(ERR_SSL_\\w+_ALERT_\\w+; none in ${dir}\\): `
      + `put the client certificate and its key in ${dir}/client.cert and ${dir}/client.key$`))
  })

  it('says the certificate was refused when it is not one the registry trusts', async () => {
    const stranger = await makeClientCertificate(join(scratch, 'stranger'))
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!, 'client.cert': stranger.certFile, 'client.key': stranger.keyFile})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.userLine).toMatch(new RegExp(`^${reg.host} refused the TLS client certificate ${root}/${reg.host}/client.cert \\(ERR_SSL_`))
  })

  it('refuses a .cert without its .key as a usage line naming both files', async () => {
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!, 'client.cert': reg.clientCert!.certFile})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.kind).toBe('usage')
    expect(e.userLine).toBe(`client certificate files do not pair up: ${root}/${reg.host}/client.cert has no ${root}/${reg.host}/client.key: `
      + 'a client certificate in a certs.d directory is NAME.cert with its key NAME.key; add the missing file or remove the other')
  })

  it('refuses a key that does not belong to the certificate, naming the files', async () => {
    const stranger = await makeClientCertificate(join(scratch, 'mismatch'))
    const root = await certsD(reg.host, {'ca.crt': reg.caFile!, 'client.cert': reg.clientCert!.certFile, 'client.key': stranger.keyFile})
    const e = await failure(new RegistryClient({env: {SLIPWAY_CERTS_D: root}}), reg.host)
    expect(e.kind).toBe('usage')
    expect(e.userLine).toContain(`cannot use the TLS files for ${reg.host}`)
    expect(e.userLine).toContain(`${root}/${reg.host}/client.key`)
  })
})

describe('--insecure-registry matching (TLS registries whose CA nobody trusts)', () => {
  let a: TestRegistry
  let b: TestRegistry
  let noCerts: string
  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry('tls'), startRegistry('tls')])
    noCerts = await certsD()
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop()]) })

  /** 'ok', or the start of the error line. */
  async function reach(client: RegistryClient, reg: TestRegistry): Promise<string> {
    const got = await client.ping(reg.host).then(() => 'ok', (e: SlipwayError) => e.userLine.slice(0, 40))
    return got
  }

  async function reachBoth(opts: {insecureRegistries?: string[]; env?: Record<string, string>}): Promise<[string, string]> {
    const client = new RegistryClient({...opts, env: {SLIPWAY_CERTS_D: noCerts, ...opts.env}})
    const got: [string, string] = [await reach(client, a), await reach(client, b)]
    await client.close()
    return got
  }

  const untrusted = (reg: TestRegistry) => `TLS certificate of ${reg.host} is not trusted`.slice(0, 40)

  it('HOST:PORT skips verification on that port only', async () => {
    expect(await reachBoth({insecureRegistries: [a.host]})).toEqual(['ok', untrusted(b)])
  })

  it('HOST skips it on every port', async () => {
    expect(await reachBoth({insecureRegistries: ['127.0.0.1']})).toEqual(['ok', 'ok'])
  })

  it('nothing listed: both verified and refused', async () => {
    expect(await reachBoth({})).toEqual([untrusted(a), untrusted(b)])
  })

  it('reads SLIPWAY_INSECURE_REGISTRY (comma-separated) and its old name SLIPWAY_INSECURE_REGISTRIES, besides the flag', async () => {
    expect(await reachBoth({env: {SLIPWAY_INSECURE_REGISTRY: `${b.host}, other.example`}})).toEqual([untrusted(a), 'ok'])
    expect(await reachBoth({env: {SLIPWAY_INSECURE_REGISTRIES: a.host}})).toEqual(['ok', untrusted(b)])
    expect(await reachBoth({insecureRegistries: [a.host], env: {SLIPWAY_INSECURE_REGISTRY: b.host}})).toEqual(['ok', 'ok'])
  })
})

describe('a redirect to another host', () => {
  const content = Buffer.from('blob behind a redirect, over mTLS')
  const digest = sha256Digest(content)
  let front: Server
  let storage: Server
  const clientCertSeenBy: Record<'front' | 'storage', (string | undefined)[]> = {front: [], storage: []}

  function listen(server: Server, host: string): Promise<string> {
    return new Promise(resolve => server.listen(0, host, () => resolve(`${host}:${(server.address() as AddressInfo).port}`)))
  }
  function peerCn(socket: TLSSocket): string | undefined {
    const cert = socket.getPeerCertificate()
    return cert && Object.keys(cert).length > 0 ? String(cert.subject.CN) : undefined
  }

  let frontHost: string
  let storageHost: string
  let client: {certFile: string; keyFile: string}
  let caFile: string
  beforeAll(async () => {
    const server = await makeTestCertificates(join(scratch, 'redirect-server'))
    client = await makeClientCertificate(join(scratch, 'redirect-client'))
    caFile = server.caFile
    // both ask for a client certificate and accept any (requestCert without rejectUnauthorized): they record what they get
    const tls = {cert: await readFile(server.certFile), key: await readFile(server.keyFile), requestCert: true, rejectUnauthorized: false}
    storage = createServer(tls, (req, res) => {
      clientCertSeenBy.storage.push(peerCn(req.socket as TLSSocket))
      res.writeHead(200, {'content-length': content.length}).end(content)
    })
    storageHost = await listen(storage, '127.0.0.2')
    front = createServer(tls, (req, res) => {
      clientCertSeenBy.front.push(peerCn(req.socket as TLSSocket))
      res.writeHead(307, {location: `https://${storageHost}/storage/${digest}`}).end()
    })
    frontHost = await listen(front, '127.0.0.1')
  })
  afterAll(async () => {
    front.closeAllConnections()
    storage.closeAllConnections()
    await new Promise(r => front.close(r))
    await new Promise(r => storage.close(r))
  })

  it("is made with that host's TLS settings: the registry's client certificate is not sent there", async () => {
    const root = await certsD(frontHost, {'ca.crt': caFile, 'client.cert': client.certFile, 'client.key': client.keyFile})
    await mkdir(join(root, storageHost))
    await copyFile(caFile, join(root, storageHost, 'ca.crt'))
    await writeFile(join(root, 'unrelated'), randomBytes(8))
    const registry = new RegistryClient({env: {SLIPWAY_CERTS_D: root}})
    const got = await readAll(await registry.getBlob(parseRepository(`${frontHost}/r/app`), digest, {size: content.length}))
    await registry.close()
    expect(got.equals(content)).toBe(true)
    expect(clientCertSeenBy.front).toContain('slipway test client')
    expect(clientCertSeenBy.storage).toEqual([undefined])
  })

  it('is verified unless that host is an insecure registry itself', async () => {
    const root = await certsD()
    const repo = parseRepository(`${frontHost}/r/app`)
    const frontOnly = new RegistryClient({env: {SLIPWAY_CERTS_D: root}, insecureRegistries: [frontHost]})
    const e = await frontOnly.getBlob(repo, digest, {size: content.length}).catch((x: unknown) => x) as SlipwayError
    await frontOnly.close()
    expect(e.userLine).toContain(`TLS certificate of ${storageHost} is not trusted: signed by an unknown authority`)
    const both = new RegistryClient({env: {SLIPWAY_CERTS_D: root}, insecureRegistries: [frontHost, storageHost]})
    expect((await readAll(await both.getBlob(repo, digest, {size: content.length}))).equals(content)).toBe(true)
    await both.close()
  })
})
