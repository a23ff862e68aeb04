import {readdirSync, readFileSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {SlipwayError} from '../../errors.js'

/**
 * Per-host TLS files as containers-certs.d(5) and docker's "Verify repository client with certificates"
 * describe them: a directory named after the registry's host:port under a certs.d root holds `*.crt`
 * (CA certificates, trusted for that host besides the roots) and `*.cert` + `*.key` pairs with the same
 * base name (a client certificate and its key). Like containers/image (docker/docker_client.go
 * dockerCertDir), the first root that has a directory for the host is used and the others are not
 * read. The roots: `$XDG_CONFIG_HOME/containers/certs.d` (else ~/.config/…) for non-root users, as podman
 * reads them, then /etc/containers/certs.d, then /etc/docker/certs.d; SLIPWAY_CERTS_D=dir1:dir2 replaces
 * that list.
 */
export function certsDRoots(env: NodeJS.ProcessEnv, uid: number = process.getuid?.() ?? 0): string[] {
  if (env.SLIPWAY_CERTS_D !== undefined) return env.SLIPWAY_CERTS_D.split(':').filter(d => d !== '')
  const user = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'containers', 'certs.d')
  return [...(uid === 0 ? [] : [user]), '/etc/containers/certs.d', '/etc/docker/certs.d']
}

/**
 * The directory names that stand for a connection to `host` on `port`: `host:port`; on 443, HTTPS's
 * default port that references and docker's examples leave out, `host:443` first and then `host`. Never
 * `host` for another port: a client certificate meant for one origin goes to no other.
 */
export function hostDirNames(host: string, port: string): string[] {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return port === '443' ? [`${h}:443`, h] : [`${h}:${port}`]
}

export interface ClientPair {
  certFile: string
  keyFile: string
  cert: string
  key: string
}

export interface HostCertsDir {
  dir: string
  /** `*.crt` files and their PEM text, in name order. */
  cas: {file: string; pem: string}[]
  /** The first `*.cert`/`*.key` pair in name order (docker tries them in that order). */
  client?: ClientPair
}

/** The host's certs.d directory, or undefined (and every path looked at, for messages). */
export function findHostCertsDir(roots: readonly string[], names: readonly string[]): {found?: HostCertsDir; lookedIn: string[]} {
  const lookedIn: string[] = []
  for (const name of names) {
    for (const root of roots) {
      const dir = join(root, name)
      lookedIn.push(dir)
      if (isDirectory(dir)) return {found: readHostCertsDir(dir), lookedIn}
    }
  }
  return {lookedIn}
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch (e) {
    // a root the user cannot read is skipped, as containers/image does
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return false
    throw unreadable(path, e)
  }
}

export function readHostCertsDir(dir: string): HostCertsDir {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch (e) {
    throw unreadable(dir, e)
  }
  const cas = names.filter(n => n.endsWith('.crt')).map(n => ({file: join(dir, n), pem: read(join(dir, n))}))
  const certs = new Set(names.filter(n => n.endsWith('.cert')).map(n => n.slice(0, -'.cert'.length)))
  const keys = new Set(names.filter(n => n.endsWith('.key')).map(n => n.slice(0, -'.key'.length)))
  for (const base of certs) if (!keys.has(base)) throw unpaired(join(dir, `${base}.cert`), join(dir, `${base}.key`))
  for (const base of keys) if (!certs.has(base)) throw unpaired(join(dir, `${base}.key`), join(dir, `${base}.cert`))
  const first = [...certs].sort()[0]
  if (first === undefined) return {dir, cas}
  const certFile = join(dir, `${first}.cert`)
  const keyFile = join(dir, `${first}.key`)
  return {dir, cas, client: {certFile, keyFile, cert: read(certFile), key: read(keyFile)}}
}

function unpaired(present: string, missing: string): SlipwayError {
  return new SlipwayError('usage', `client certificate files do not pair up: ${present} has no ${missing}`, {
    hint: 'a client certificate in a certs.d directory is NAME.cert with its key NAME.key; add the missing file or remove the other',
  })
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw unreadable(file, e)
  }
}

function unreadable(path: string, e: unknown): SlipwayError {
  return new SlipwayError('usage', `cannot read ${path}: ${(e as Error).message}`, {hint: 'check the certs.d directory and its permissions'})
}
