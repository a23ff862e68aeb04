import {readFileSync} from 'node:fs'

import {SlipwayError} from '../../errors.js'
import {DEFAULT_REGISTRY} from '../../oci/ref.js'
import type {AuthFile} from './auth-files.js'

/** What one auth file says about a registry (or a repository on it), and under which key. */
export type AuthFileEntry = (
  | {kind: 'helper'; helper: string; serverUrl: string}
  | {kind: 'basic'; username: string; password: string}
  | {kind: 'identity-token'; token: string}
) & {file: AuthFile; key: string}

interface AuthEntry {
  auth?: unknown
  username?: unknown
  password?: unknown
  identitytoken?: unknown
}

/** docker's config.json and containers' auth.json: these keys, and whatever else the file holds (kept as is). */
export interface AuthFileDocument {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
  [other: string]: unknown
}

/** Docker Hub's key in docker's config.json (docker login writes it, and the helper protocol uses it). */
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/'

/** A registry name as config files may spell it (URL, Docker Hub alias), as host[:port]. */
export function normalizeRegistryHost(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase()
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = DEFAULT_REGISTRY
  return host
}

/**
 * An `auths` key as host[:port] or host[:port]/namespace. A URL key (`https://host/v1/`, what docker
 * login wrote for years and still writes for Docker Hub) names a host: its path is the API's, not a
 * namespace; so does every key of the legacy ~/.dockercfg (containers/image reads them the same way).
 */
export function normalizeAuthKey(key: string, legacy = false): string {
  const stripped = key.replace(/^https?:\/\//i, '')
  const slash = stripped.indexOf('/')
  const host = normalizeRegistryHost(slash < 0 ? stripped : stripped.slice(0, slash))
  if (legacy || stripped !== key || slash < 0) return host
  const path = stripped.slice(slash + 1).replace(/\/+$/, '')
  return path === '' ? host : `${host}/${path}`
}

/**
 * The keys a repository's credentials may be under, most specific first, as containers-auth.json(5)
 * orders them: `host/ns/sub/app`, `host/ns/sub`, `host/ns`, `host`.
 */
export function authKeysFor(registry: string, repository?: string): string[] {
  const host = normalizeRegistryHost(registry)
  const keys: string[] = []
  const parts = repository ? repository.split('/') : []
  for (let n = parts.length; n > 0; n--) keys.push(`${host}/${parts.slice(0, n).join('/')}`)
  keys.push(host)
  return keys
}

/** The server URL a credential helper stores a registry under (docker's convention). */
export function helperServerUrl(registry: string): string {
  const host = normalizeRegistryHost(registry)
  return host === DEFAULT_REGISTRY ? DOCKER_HUB_SERVER_URL : host
}

/** The key `registry login` writes for `target` (host or host/namespace) into a file of `kind`. */
export function loginKey(file: AuthFile, target: string): string {
  const key = normalizeAuthKey(target)
  return file.kind === 'docker' && key === DEFAULT_REGISTRY ? DOCKER_HUB_SERVER_URL : key
}

/** Reads and checks an auth file; undefined when it does not exist. A broken file is an error naming it. */
export function readAuthFile(file: AuthFile): AuthFileDocument | undefined {
  let text: string
  try {
    text = readFileSync(file.path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new SlipwayError('auth', `cannot read ${describeFile(file)}: ${(e as Error).message}`)
  }
  return parseAuthFile(file, text)
}

/**
 * containers/image fails a lookup on a file that does not parse ("reading JSON file …") rather than skip
 * it, and so does docker: a broken file is one line naming it, never silently ignored.
 */
export function parseAuthFile(file: AuthFile, text: string): AuthFileDocument {
  const broken = (why: string) => new SlipwayError('auth', `${describeFile(file)} is not valid: ${why}`, {hint: 'fix or remove the file'})
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw broken((e as Error).message)
  }
  if (!isObject(doc)) throw broken('not a JSON object')
  if (file.legacy) return {auths: doc as Record<string, AuthEntry>}
  for (const field of ['auths', 'credHelpers'] as const) {
    if (doc[field] !== undefined && !isObject(doc[field])) throw broken(`"${field}" is not an object`)
  }
  return doc as AuthFileDocument
}

/** "docker config PATH" or "auth file PATH": how messages name a file. */
export function describeFile(file: AuthFile): string {
  return `${file.kind === 'docker' ? 'docker config' : 'auth file'} ${file.path}`
}

/**
 * Looks a repository up in one file: a credential helper named for its host (credHelpers), then `auths`
 * from the most specific key to the host's, then the file's default helper (credsStore).
 */
export function authFileEntry(file: AuthFile, doc: AuthFileDocument, registry: string, repository?: string): AuthFileEntry | undefined {
  const host = normalizeRegistryHost(registry)
  const serverUrl = helperServerUrl(host)

  for (const [key, helper] of Object.entries(doc.credHelpers ?? {})) {
    if (normalizeRegistryHost(key) === host && typeof helper === 'string' && helper !== '') return {kind: 'helper', helper, serverUrl, file, key}
  }
  const auths = Object.entries(doc.auths ?? {})
  const wanted = file.legacy ? [host] : authKeysFor(host, repository)
  for (const want of wanted) {
    for (const [key, entry] of auths) {
      if (normalizeAuthKey(key, file.legacy) !== want) continue
      const found = decodeEntry(file, key, entry)
      if (found) return found
    }
  }
  if (typeof doc.credsStore === 'string' && doc.credsStore !== '') return {kind: 'helper', helper: doc.credsStore, serverUrl, file, key: host}
  return undefined
}

/** An entry's credentials; undefined for an empty entry (docker leaves `{}` when a helper holds them). */
function decodeEntry(file: AuthFile, key: string, entry: unknown): AuthFileEntry | undefined {
  if (!isObject(entry)) return undefined
  const e = entry as AuthEntry
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') return {kind: 'identity-token', token: e.identitytoken, file, key}
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon <= 0) throw new SlipwayError('auth', `the "auth" entry for ${key} in ${describeFile(file)} is not base64 of user:password`, {hint: 'log in again'})
    return {kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, ''), file, key}
  }
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.password !== '') {
    return {kind: 'basic', username: e.username, password: e.password, file, key}
  }
  return undefined
}

/** The credential helper the file names for a host (credHelpers, else credsStore), if any. */
export function helperFor(doc: AuthFileDocument, registry: string): string | undefined {
  const host = normalizeRegistryHost(registry)
  for (const [key, helper] of Object.entries(doc.credHelpers ?? {})) {
    if (normalizeRegistryHost(key) === host && typeof helper === 'string' && helper !== '') return helper
  }
  return typeof doc.credsStore === 'string' && doc.credsStore !== '' ? doc.credsStore : undefined
}

/**
 * The document with `key`'s entry set to the credentials (and other spellings of the same key, such as
 * `https://host/v1/`, dropped so one entry says it); every other key of the file is kept as it was.
 */
export function withLogin(doc: AuthFileDocument, key: string, username: string, password: string): AuthFileDocument {
  const {auths} = withoutLogin(doc, key).doc
  return {...doc, auths: {...auths, [key]: {auth: Buffer.from(`${username}:${password}`).toString('base64')}}}
}

/** The document without `key`'s entry (in any spelling); `removed` says whether there was one. */
export function withoutLogin(doc: AuthFileDocument, key: string): {doc: AuthFileDocument; removed: boolean} {
  const want = normalizeAuthKey(key)
  const kept = Object.entries(doc.auths ?? {}).filter(([k]) => normalizeAuthKey(k) !== want)
  const removed = kept.length !== Object.keys(doc.auths ?? {}).length
  return {doc: {...doc, auths: Object.fromEntries(kept)}, removed}
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
