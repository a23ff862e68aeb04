import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createSecureContext, rootCertificates, type SecureContext} from 'node:tls'

import {SlipwayError} from '../../errors.js'
import {certsDRoots, type ClientPair, findHostCertsDir, hostDirNames} from './certs-d.js'

/** What one HTTPS host is connected with, and where it came from (for error messages). */
export interface HostTls {
  /** host:port of the connection. */
  hostPort: string
  secureContext: SecureContext
  /** Where the trusted CAs came from: 'system roots' or SSL_CERT_FILE=…, then SLIPWAY_CA_FILE=…, then certs.d files. */
  caSources: string[]
  /** The certs.d directory used, if any. */
  certsDir?: string
  /** Directories looked for when none was found. */
  lookedIn: string[]
  client?: ClientPair
}

/**
 * Roots of trust and per-host certificates. The roots are Node's bundled Mozilla set unless
 * SSL_CERT_FILE or SSL_CERT_DIR is set: then they are exactly the certificates in that file and in the
 * PEM files of those directories (a colon-separated list), as Go's crypto/x509 and OpenSSL read the
 * variables. SLIPWAY_CA_FILE is added to the roots for every host, a certs.d directory's `*.crt` for its
 * host only. One secure context per host, made on first use.
 */
export class TlsSettings {
  private roots?: Roots
  private readonly hosts = new Map<string, HostTls>()
  private rootsOnly?: SecureContext
  private readonly certsD: string[]

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly caFile: string | undefined) {
    this.certsD = certsDRoots(env)
  }

  forHost(hostname: string, port: string): HostTls {
    const hostPort = `${hostname}:${port}`
    let tls = this.hosts.get(hostPort)
    if (!tls) {
      tls = this.build(hostname.replace(/^\[|\]$/g, ''), port)
      this.hosts.set(hostPort, tls)
    }
    return tls
  }

  /** The certs.d path to suggest for a host's CA or client certificate. */
  suggestedDir(hostname: string, port: string): string {
    return join(this.certsD[0] ?? '/etc/containers/certs.d', hostDirNames(hostname.replace(/^\[|\]$/g, ''), port).at(-1)!)
  }

  private build(host: string, port: string): HostTls {
    const roots = this.loadRoots()
    const {found, lookedIn} = findHostCertsDir(this.certsD, hostDirNames(host, port))
    const extra = found?.cas.map(c => c.pem) ?? []
    // Node's own root store unless something is added to it or replaces it: a context made from the
    // bundled roots as PEM costs about 27 ms, one from the built-in store under 1 ms
    const ca = roots.builtIn && extra.length === 0 ? undefined : [...roots.pems, ...extra]
    const caSources = [...roots.sources, ...(found ? found.cas.map(c => c.file) : [])]
    const client = found?.client
    let secureContext: SecureContext
    try {
      // hosts with nothing of their own share one context: with SSL_CERT_FILE's ~140 CAs one takes 30-100 ms
      secureContext = !found?.cas.length && !client
        ? (this.rootsOnly ??= createSecureContext(ca ? {ca} : {}))
        : createSecureContext({...(ca ? {ca} : {}), ...(client ? {cert: client.cert, key: client.key} : {})})
    } catch (e) {
      const files = client ? `${client.certFile}, ${client.keyFile} or the CA files` : 'the CA files'
      throw new SlipwayError('usage', `cannot use the TLS files for ${host}:${port}: ${(e as Error).message} (${files}: ${caSources.join(', ')})`, {
        hint: 'certificates and keys must be PEM, and the key must belong to the certificate',
      })
    }
    return {hostPort: `${host}:${port}`, secureContext, caSources, ...(found ? {certsDir: found.dir} : {}), lookedIn, ...(client ? {client} : {})}
  }

  private loadRoots(): Roots {
    if (this.roots) return this.roots
    const {SSL_CERT_FILE: file, SSL_CERT_DIR: dirs} = this.env
    const pems = new Set<string>()
    const sources: string[] = []
    const builtIn = !file && !dirs && !this.caFile
    if (file || dirs) {
      if (file) {
        for (const pem of certificatesIn(readPem(file, 'SSL_CERT_FILE'))) pems.add(pem)
        sources.push(`SSL_CERT_FILE=${file}`)
      }
      if (dirs) {
        for (const dir of dirs.split(':').filter(d => d !== '')) for (const pem of certificatesInDir(dir)) pems.add(pem)
        sources.push(`SSL_CERT_DIR=${dirs}`)
      }
    } else {
      for (const pem of rootCertificates) pems.add(pem)
      sources.push('system roots')
    }
    if (this.caFile) {
      pems.add(readPem(this.caFile, 'SLIPWAY_CA_FILE'))
      sources.push(`SLIPWAY_CA_FILE=${this.caFile}`)
    }
    this.roots = {pems: [...pems], sources, builtIn}
    return this.roots
  }
}

interface Roots {
  pems: string[]
  sources: string[]
  /** Exactly Node's bundled roots: the default store serves. */
  builtIn: boolean
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

function certificatesIn(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? []
}

/** Every certificate in the directory's files (OpenSSL's hash links and the files they point to alike). */
function certificatesInDir(dir: string): Set<string> {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    throw new SlipwayError('usage', `cannot read ${dir} (SSL_CERT_DIR): ${(e as Error).message}`, {hint: 'SSL_CERT_DIR is a colon-separated list of directories of PEM certificates'})
  }
  const pems = new Set<string>()
  for (const name of names) {
    let text: string
    try {
      text = readFileSync(join(dir, name), 'utf8')
    } catch {
      continue // a subdirectory or dangling link, skipped as OpenSSL and Go skip them
    }
    for (const pem of certificatesIn(text)) pems.add(pem)
  }
  return pems
}

function readPem(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new SlipwayError('usage', `cannot read the CA file ${file} (${variable}): ${(e as Error).message}`, {hint: `point ${variable} at a PEM certificate file`})
  }
}
