import {registerSecret} from '../../redact.js'
import type {ResolvedOptions} from '../options.js'
import {DEFAULTS} from '../options.js'
import {runCredentialHelper} from './credential-helper.js'
import {dockerConfigEntry, normalizeConfigKey} from './docker-config.js'

/** Credentials for one registry, whichever source gave them. */
export type Credential =
  | {kind: 'basic'; username: string; password: string; source: string}
  /** An identity (refresh) token for the bearer token flow, from `docker login` to an OAuth registry. */
  | {kind: 'identity-token'; token: string; source: string}

/**
 * Finds credentials for a registry, in priority order: explicit options (flags), GitLab CI variables for
 * `$CI_REGISTRY`, docker config.json (credHelpers, auths, credsStore). Every secret found is registered
 * for redaction.
 */
export async function findCredential(registry: string, opts: ResolvedOptions): Promise<Credential | undefined> {
  const cred = await lookup(registry, opts)
  if (cred?.kind === 'basic') registerSecret(cred.password)
  if (cred?.kind === 'identity-token') registerSecret(cred.token)
  if (cred?.kind === 'basic') registerSecret(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'))
  return cred
}

async function lookup(registry: string, opts: ResolvedOptions): Promise<Credential | undefined> {
  const host = normalizeConfigKey(registry)
  const explicit = opts.credentials
  if (explicit && (explicit.registry === undefined || normalizeConfigKey(explicit.registry) === host)) {
    return {kind: 'basic', username: explicit.username, password: explicit.password, source: 'flags'}
  }

  const env = opts.env
  const ciPassword = env.CI_REGISTRY_PASSWORD || env.CI_JOB_TOKEN
  if (env.CI_REGISTRY && normalizeConfigKey(env.CI_REGISTRY) === host && env.CI_REGISTRY_USER && ciPassword) {
    return {kind: 'basic', username: env.CI_REGISTRY_USER, password: ciPassword, source: 'GitLab CI variables'}
  }

  const entry = dockerConfigEntry(registry, env)
  if (!entry) return undefined
  if (entry.kind === 'basic') return {...entry, source: 'docker config.json'}
  if (entry.kind === 'identity-token') return {...entry, source: 'docker config.json'}
  const found = await runCredentialHelper(entry.helper, entry.serverUrl, env, DEFAULTS.credentialHelperTimeoutMs)
  if (!found) return undefined
  const source = `docker-credential-${entry.helper}`
  // The helper protocol marks identity tokens with the user name "<token>".
  return found.username === '<token>'
    ? {kind: 'identity-token', token: found.secret, source}
    : {kind: 'basic', username: found.username, password: found.secret, source}
}
