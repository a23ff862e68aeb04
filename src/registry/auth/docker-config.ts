import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {SlipwayError} from '../../errors.js'
import {DEFAULT_REGISTRY} from '../../oci/ref.js'

/** What docker's config.json (at `path`) says about one registry. */
export type DockerConfigEntry = (
  | {kind: 'helper'; helper: string; serverUrl: string}
  | {kind: 'basic'; username: string; password: string}
  | {kind: 'identity-token'; token: string}
) & {path: string}

interface DockerConfigFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(env.HOME || homedir(), '.docker', 'config.json')
}

/** The keys docker may have stored a registry under, normalized to host[:port]. */
export function normalizeConfigKey(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase()
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = DEFAULT_REGISTRY
  return host
}

function readConfig(path: string): DockerConfigFile | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new SlipwayError('auth', `cannot read docker config ${path}: ${(e as Error).message}`)
  }
  try {
    const doc = JSON.parse(text) as unknown
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object')
    return doc as DockerConfigFile
  } catch (e) {
    throw new SlipwayError('auth', `docker config ${path} is not valid JSON: ${(e as Error).message}`, {hint: 'fix or remove the file'})
  }
}

/** Looks a registry up in config.json: credHelpers, then auths, then credsStore. */
export function dockerConfigEntry(registry: string, env: NodeJS.ProcessEnv): DockerConfigEntry | undefined {
  const path = dockerConfigPath(env)
  const config = readConfig(path)
  if (!config) return undefined
  const host = normalizeConfigKey(registry)
  const serverUrl = host === DEFAULT_REGISTRY ? 'https://index.docker.io/v1/' : host

  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (normalizeConfigKey(key) === host && typeof helper === 'string' && helper !== '') return {kind: 'helper', helper, serverUrl, path}
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeConfigKey(key) !== host || !entry || typeof entry !== 'object') continue
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return {kind: 'identity-token', token: entry.identitytoken, path}
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon <= 0) throw new SlipwayError('auth', `the "auth" entry for ${key} in ${path} is not base64 of user:password`, {hint: 'run docker login again'})
      return {kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), path}
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return {kind: 'basic', username: entry.username, password: entry.password, path}
    }
  }
  if (typeof config.credsStore === 'string' && config.credsStore !== '') return {kind: 'helper', helper: config.credsStore, serverUrl, path}
  return undefined
}
