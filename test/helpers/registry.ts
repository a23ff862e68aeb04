import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, openSync, readFileSync} from 'node:fs'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {createServer, type AddressInfo} from 'node:net'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {pushBaseImage} from './base-image.js'
import {freshHomes} from './cli.js'
import {makeProject, type MakeProjectOptions, type TestProject} from './project.js'
import {type ClientCertificate, makeClientCertificate, makeSigningCertificate, makeTestCertificates, type TestCertificates} from './tls.js'
import {startTokenIssuer, type TokenIssuer} from './token-issuer.js'
import {makeTempDir, removeTempDir} from './tmp.js'

/**
 * A real registry (Debian's docker-registry, distribution 2.8.2) on a free 127.0.0.1 port, for tests.
 *   plain     HTTP, anonymous, every action allowed.
 *   tls       HTTPS (server cert signed by a CA made here, `caFile`), anonymous.
 *   tls-client-cert
 *             HTTPS as `tls`, and every client must present a certificate signed by a client CA of its own
 *             (distribution's `http.tls.clientcas`, i.e. Go's RequireAndVerifyClientCert): `clientCert`.
 *   tls-basic HTTPS (server cert signed by a CA made here, `caFile`), htpasswd basic auth for one user.
 *   token     distribution's `auth: token` with a token issuer from ./token-issuer.ts; HTTPS for both the
 *             registry and the issuer (same CA) unless `{tls: false}`. Two users: `username` (pull, push,
 *             delete) and `readonlyUser` (pull only). Anonymous token requests get 401.
 * Storage is a temp dir (filesystem driver, deletes enabled). The registry logs at level error, plus its
 * access log, to `logFile` (SLIPWAY_TEST_REGISTRY_LOG_LEVEL=debug for more).
 */
export type RegistryVariant = 'plain' | 'tls' | 'tls-client-cert' | 'tls-basic' | 'token'

export interface RegistryOptions {
  /** token variant: lifetime of issued tokens (default 300 s). */
  tokenTtlSeconds?: number
  /** token variant: serve registry and issuer over HTTPS (default true). */
  tls?: boolean
  /** `storage.delete.enabled` (default true): false makes a registry that refuses every delete. */
  deleteEnabled?: boolean
  /**
   * IPv4 address to listen on (default 127.0.0.1). One of the machine's own non-loopback addresses
   * (`nonLoopbackAddress()`) makes a registry slipway does not treat as local: no plain-HTTP fallback.
   */
  address?: string
}

export interface TestRegistry {
  variant: RegistryVariant
  /** '127.0.0.1:PORT' (or the `address` asked for): what goes into image references. */
  host: string
  /** 'http://127.0.0.1:PORT' or 'https://127.0.0.1:PORT' */
  url: string
  /** PEM of the CA that signed the registry's (and the token issuer's) certificate; set when TLS is on. */
  caFile?: string
  /** tls-client-cert only: a certificate and key the registry accepts from clients. */
  clientCert?: ClientCertificate
  /** A user allowed to pull, push and delete (tls-basic, token). */
  username?: string
  password?: string
  /** token variant only: a user granted `pull` and nothing else. */
  readonlyUser?: {username: string; password: string}
  /** token variant only: the issuer, for `requestCount`, `requests` and `ttlSeconds`. */
  tokenIssuer?: TokenIssuer
  /** Root of the filesystem storage driver. */
  storageDir: string
  /** The registry's stdout/stderr. */
  logFile: string
  /** Env vars a slipway child process needs for this registry: SLIPWAY_CA_FILE when TLS is on. */
  env(): Record<string, string>
  /** skopeo flags to reach it from one side of a copy, e.g. ['--dest-cert-dir', DIR, '--dest-creds', 'u:p']. */
  skopeoFlags(side: 'src' | 'dest'): string[]
  /** Kills the registry (and stops the token issuer), removes its temp dir. Safe to call twice. */
  stop(): Promise<void>
}

const runFile = promisify(execFile)
const REGISTRY_BIN = process.env.SLIPWAY_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry'
const TOKEN_SERVICE = 'slipway-test-registry'
const READY_TIMEOUT_MS = 15_000

interface Running {
  child: ChildProcess
  watchdog: ChildProcess
}

/** Registries not stopped yet: killed on 'exit' (outside jest) and by their watchdogs (always). */
const running = new Set<Running>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const r of running) killGroup(r.child, 'SIGKILL')
  })
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

/**
 * A shell that waits for EOF on its stdin, then kills the registry's process group. Our end of that pipe
 * closes whenever this process dies, even by SIGKILL, and under jest, whose sandboxed `process` never
 * delivers 'exit' to the hook above. The temp dir is swept by ./tmp.ts the same way.
 */
export function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', 'read _; kill -KILL "-$1" 2>/dev/null', 'registry-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  })
  watchdog.unref()
  ;(watchdog.stdin as unknown as {unref?: () => void}).unref?.()
  return watchdog
}

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, address, () => {
      const {port} = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function htpasswdLine(username: string, password: string): Promise<string> {
  const {stdout} = await runFile('htpasswd', ['-nbB', '-C', '4', username, password])
  return stdout.trim()
}

function randomSecret(): string {
  return randomBytes(12).toString('hex')
}

interface ProbeCert {
  cert: Buffer
  key: Buffer
}

/**
 * Every answer of a registry started here carries this header with a value of its own (distribution's
 * `http.headers`): the port was free when freePort looked, but another test's registry or proxy may have
 * bound it since, and an answer from that one must not pass for ours.
 */
const IDENTITY_HEADER = 'x-slipway-test-registry'

/** An HTTP answer to GET /v2/ (200 or 401) that carries `identity` means our registry is serving. */
function probe(url: string, identity: string, ca: Buffer | undefined, clientCert?: ProbeCert): Promise<boolean> {
  return new Promise(resolve => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    // the name is not checked: a registry on an address its certificate does not name is a test case
    const req = request(`${url}/v2/`, {method: 'GET', ca, ...clientCert, checkServerIdentity: () => undefined, timeout: 1000}, res => {
      res.resume()
      resolve((res.statusCode === 200 || res.statusCode === 401) && res.headers[IDENTITY_HEADER] === identity)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => req.destroy())
    req.end()
  })
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return '(no log)'
  }
}

class PortTakenError extends Error {}

async function launch(configFile: string, logFile: string, url: string, identity: string, ca: Buffer | undefined, cert?: ProbeCert): Promise<Running> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')))
  const logFd = openSync(logFile, 'w')
  let child: ChildProcess
  try {
    child = spawn(REGISTRY_BIN, ['serve', configFile], {stdio: ['ignore', logFd, logFd], detached: true, env})
  } finally {
    closeSync(logFd)
  }
  child.unref()
  const spawnError = new Promise<Error>(resolve => child.once('error', resolve))
  if (child.pid === undefined) throw new Error(`cannot run ${REGISTRY_BIN}: ${(await spawnError).message}`)
  const r: Running = {child, watchdog: startWatchdog(child.pid)}
  running.add(r)
  const died = Promise.race([spawnError, exited(child).then(() => new Error('exited'))])
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const failure = await Promise.race([died, new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), 50))])
    if (failure) {
      await exited(child)
      running.delete(r)
      r.watchdog.kill('SIGKILL')
      const log = logTail(logFile)
      if (/address already in use/.test(log)) throw new PortTakenError(log)
      throw new Error(`docker-registry did not start (${failure.message}); ${logFile}:\n${log}`)
    }
    // another server answering on the port is not ours: ours cannot bind it and exits (PortTakenError above)
    if (await probe(url, identity, ca, cert)) return r
    if (Date.now() > deadline) {
      await stopRunning(r)
      throw new Error(`docker-registry did not answer ${url}/v2/ within ${READY_TIMEOUT_MS} ms; ${logFile}:\n${logTail(logFile)}`)
    }
  }
}

async function stopRunning(r: Running): Promise<void> {
  if (!running.delete(r)) return
  killGroup(r.child, 'SIGTERM')
  const timer = setTimeout(() => killGroup(r.child, 'SIGKILL'), 3000)
  await exited(r.child)
  clearTimeout(timer)
  r.watchdog.kill('SIGKILL')
}

export async function startRegistry(variant: RegistryVariant = 'plain', opts: RegistryOptions = {}): Promise<TestRegistry> {
  installExitHook()
  const dir = await makeTempDir('registry')
  try {
    return await startIn(dir, variant, opts)
  } catch (error) {
    await removeTempDir(dir)
    throw error
  }
}

async function startIn(dir: string, variant: RegistryVariant, opts: RegistryOptions): Promise<TestRegistry> {
  const address = opts.address ?? '127.0.0.1'
  const storageDir = join(dir, 'storage')
  const logFile = join(dir, 'registry.log')
  await mkdir(storageDir)
  const useTls = variant === 'tls' || variant === 'tls-client-cert' || variant === 'tls-basic' || (variant === 'token' && opts.tls !== false)
  const certs: TestCertificates | undefined = useTls ? await makeTestCertificates(join(dir, 'tls')) : undefined
  const ca = certs ? await readFile(certs.caFile) : undefined
  const clientCert = variant === 'tls-client-cert' ? await makeClientCertificate(join(dir, 'client')) : undefined
  const probeCert = clientCert && {cert: await readFile(clientCert.certFile), key: await readFile(clientCert.keyFile)}
  if (certs && clientCert) {
    // skopeo's --cert-dir is a certs.d host directory: the client pair goes beside ca.crt
    await copyFile(clientCert.certFile, join(certs.certDir, 'client.cert'))
    await copyFile(clientCert.keyFile, join(certs.certDir, 'client.key'))
  }

  let username: string | undefined
  let password: string | undefined
  let readonlyUser: TestRegistry['readonlyUser']
  let tokenIssuer: TokenIssuer | undefined
  let auth: Record<string, unknown> | undefined
  if (variant === 'tls-basic') {
    username = 'slipway'
    password = `pw-${randomSecret()}`
    const htpasswdFile = join(dir, 'htpasswd')
    await writeFile(htpasswdFile, `${await htpasswdLine(username, password)}\n`)
    auth = {htpasswd: {realm: 'slipway-test-registry', path: htpasswdFile}}
  } else if (variant === 'token') {
    username = 'slipway'
    password = `pw-${randomSecret()}`
    readonlyUser = {username: 'reader', password: `pw-${randomSecret()}`}
    const signing = await makeSigningCertificate(join(dir, 'token'))
    tokenIssuer = await startTokenIssuer({
      service: TOKEN_SERVICE,
      users: [
        {username, password, actions: ['pull', 'push', 'delete', '*']},
        {...readonlyUser, actions: ['pull']},
      ],
      ttlSeconds: opts.tokenTtlSeconds,
      signing,
      tls: certs && {certFile: certs.certFile, keyFile: certs.keyFile},
    })
    auth = {token: {realm: tokenIssuer.realm, service: TOKEN_SERVICE, issuer: tokenIssuer.issuer, rootcertbundle: signing.certFile}}
  }

  let r: Running | undefined
  let port = 0
  try {
    for (let attempt = 1; r === undefined; attempt++) {
      port = await freePort(address)
      const url = `${useTls ? 'https' : 'http'}://${address}:${port}`
      const identity = randomSecret()
      // JSON is YAML, so no YAML writer is needed.
      const config = {
        version: '0.1',
        log: {level: process.env.SLIPWAY_TEST_REGISTRY_LOG_LEVEL ?? 'error', formatter: 'text'},
        storage: {
          filesystem: {rootdirectory: storageDir},
          delete: {enabled: opts.deleteEnabled !== false},
          maintenance: {uploadpurging: {enabled: false}},
        },
        http: {
          addr: `${address}:${port}`,
          secret: randomSecret(),
          headers: {[IDENTITY_HEADER]: [identity]},
          ...(certs ? {tls: {certificate: certs.certFile, key: certs.keyFile, ...(clientCert ? {clientcas: [clientCert.caFile]} : {})}} : {}),
        },
        ...(auth ? {auth} : {}),
      }
      const configFile = join(dir, 'config.yml')
      await writeFile(configFile, JSON.stringify(config, null, 2))
      try {
        r = await launch(configFile, logFile, url, identity, ca, probeCert)
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= 3) throw error
      }
    }
  } catch (error) {
    await tokenIssuer?.stop()
    throw error
  }

  const running = r
  const host = `${address}:${port}`
  let stopped: Promise<void> | undefined
  return {
    variant,
    host,
    url: `${useTls ? 'https' : 'http'}://${host}`,
    ...(certs ? {caFile: certs.caFile} : {}),
    ...(clientCert ? {clientCert} : {}),
    ...(username === undefined ? {} : {username, password}),
    ...(readonlyUser ? {readonlyUser} : {}),
    ...(tokenIssuer ? {tokenIssuer} : {}),
    storageDir,
    logFile,
    env: (): Record<string, string> => (certs ? {SLIPWAY_CA_FILE: certs.caFile} : {}),
    skopeoFlags(side) {
      const flags = certs ? [`--${side}-cert-dir`, certs.certDir] : [`--${side}-tls-verify=false`]
      if (username !== undefined) flags.push(`--${side}-creds`, `${username}:${password}`)
      return flags
    },
    stop() {
      stopped ??= (async () => {
        await stopRunning(running)
        await tokenIssuer?.stop()
        await removeTempDir(dir)
      })()
      return stopped
    },
  }
}

/** The first IPv4 address of this machine that is not loopback, if it has one. */
export function nonLoopbackAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return undefined
}

/** A manifest as a plain registry serves it: the exact bytes and their media type. */
export interface RawManifest {
  bytes: Buffer
  mediaType: string
}

const RAW_MANIFEST_ACCEPT = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ')

/** GET a manifest by tag or digest from a `plain` registry, bypassing slipway. */
export async function getRawManifest(reg: TestRegistry, repoPath: string, reference: string): Promise<RawManifest> {
  const res = await fetch(`${reg.url}/v2/${repoPath}/manifests/${reference}`, {headers: {accept: RAW_MANIFEST_ACCEPT}})
  if (res.status !== 200) throw new Error(`GET manifest ${repoPath}:${reference}: ${res.status}`)
  return {bytes: Buffer.from(await res.arrayBuffer()), mediaType: res.headers.get('content-type') ?? ''}
}

/** PUT manifest bytes at a tag of a `plain` registry (re-pointing the tag, as a hostile or careless writer would). */
export async function putRawManifest(reg: TestRegistry, repoPath: string, tag: string, manifest: RawManifest): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repoPath}/manifests/${tag}`, {method: 'PUT', headers: {'content-type': manifest.mediaType}, body: manifest.bytes})
  if (res.status !== 201) throw new Error(`PUT manifest ${repoPath}:${tag}: ${res.status} ${await res.text()}`)
}

/** GET a blob's bytes from a `plain` registry. */
export async function getRawBlob(reg: TestRegistry, repoPath: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${reg.url}/v2/${repoPath}/blobs/${digest}`)
  if (res.status !== 200) throw new Error(`GET blob ${repoPath}@${digest}: ${res.status}`)
  return Buffer.from(await res.arrayBuffer())
}

/** Upload a blob to a `plain` registry in one monolithic PUT; returns its digest. */
export async function putRawBlob(reg: TestRegistry, repoPath: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
  const start = await fetch(`${reg.url}/v2/${repoPath}/blobs/uploads/`, {method: 'POST'})
  if (start.status !== 202) throw new Error(`POST upload ${repoPath}: ${start.status}`)
  const location = new URL(start.headers.get('location')!, reg.url)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {method: 'PUT', headers: {'content-type': 'application/octet-stream'}, body: bytes})
  if (put.status !== 201) throw new Error(`PUT blob ${repoPath}@${digest}: ${put.status}`)
  return digest
}

export interface RegistrySetupOptions {
  variant?: RegistryVariant
  registry?: RegistryOptions
  /** Push the base image (pushBaseImage); an object for its other repository path, tag or data size. */
  base?: boolean | {repoPath?: string; tag?: string; dataBytes?: number}
  /** A project written against the registry (makeProject; its registryHost is the registry's host). */
  project?: Omit<MakeProjectOptions, 'registryHost'>
  /** beforeAll's timeout (default jest's testTimeout). */
  timeoutMs?: number
}

/** What useRegistry's beforeAll made: read it in hooks and tests, not while the describe block is collected. */
export interface RegistrySetup {
  reg: TestRegistry
  /** The base image's reference, with `base`. */
  base: string
  /** With `project`. */
  project: TestProject
  /** A fresh SLIPWAY_HOME made for the file. */
  home: string
  /** Another fresh home; every one is removed in afterAll. */
  freshHome(): string
  /** Removes `dir` in afterAll as well. */
  removeAfter(dir: string): void
}

/**
 * Registers the beforeAll/afterAll of a test file (or describe block) on a registry: starts it (variant), pushes
 * the base image and writes the project when asked, makes a home; afterAll stops the registry and removes the
 * homes and the project. Jest runs hooks in the order they are declared: the file's own beforeAll, registered
 * after this call, runs after it, and so does its afterAll (so it must not need the registry any more).
 */
export function useRegistry(opts: RegistrySetupOptions = {}): RegistrySetup {
  const homes = freshHomes()
  const others: string[] = []
  const setup = {freshHome: homes.home, removeAfter: dir => void others.push(dir)} as RegistrySetup
  beforeAll(async () => {
    setup.reg = await startRegistry(opts.variant ?? 'plain', opts.registry)
    if (opts.base) {
      const {repoPath, tag, dataBytes} = opts.base === true ? {} : opts.base
      setup.base = await pushBaseImage(setup.reg, repoPath, tag, dataBytes)
    }
    if (opts.project) setup.project = await makeProject({...opts.project, registryHost: setup.reg.host})
    setup.home = homes.home()
  }, opts.timeoutMs)
  afterAll(async () => {
    await setup.reg?.stop()
    await homes.removeAll()
    for (const dir of others.splice(0)) await removeTempDir(dir)
    if (setup.project) await removeTempDir(join(setup.project.dir, '..'))
  })
  return setup
}
